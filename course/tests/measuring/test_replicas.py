"""The replica measurements' own helpers: where a database is on the replica, and a project
with one file changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.measuring import replicas


def test_a_database_on_the_replica_keeps_its_name_user_and_password() -> None:
    assert replicas.on_replica("postgres://shop:shop@127.0.0.1:5440/test_shop_42",
                               "postgres://shop:shop@127.0.0.1:5441/shop") == \
        "postgres://shop:shop@127.0.0.1:5441/test_shop_42"


def test_a_file_variant_changes_one_file_in_a_copy(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "shop").mkdir(parents=True)
    (project / "shop" / "pin.py").write_text("PIN = True\n")
    (project / "manage.py").write_text("# the rest\n")
    with replicas.file_variant(project, "shop/pin.py", {"True": "False"}) as copy:
        assert (copy / "shop" / "pin.py").read_text() == "PIN = False\n"
        assert (copy / "manage.py").read_text() == "# the rest\n"
    assert not copy.exists()
    assert (project / "shop" / "pin.py").read_text() == "PIN = True\n"
    with pytest.raises(ValueError, match="no 'Nothing'"), \
            replicas.file_variant(project, "shop/pin.py", {"Nothing": "x"}):
        pass
