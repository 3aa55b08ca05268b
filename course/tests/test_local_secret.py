"""The secret key the course gives the production processes it runs: the environment's, else
one made once per course home, private to its owner, strong enough for chapter 12."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from course import local_secret, paths


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(paths, "STATE", tmp_path)
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    return tmp_path


def test_one_key_per_home_made_once_and_kept_private(home: Path) -> None:
    first = local_secret.secret_key()
    assert local_secret.secret_key() == first
    assert len(first) >= 50 and len(set(first)) >= 5 and not first.startswith("django-insecure")
    kept = home / local_secret.FILE_NAME
    assert kept.read_text().strip() == first
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert [path.name for path in home.iterdir()] == [local_secret.FILE_NAME]


def test_the_environment_wins_and_nothing_is_written(home: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SECRET_KEY", "from-the-environment")
    assert local_secret.secret_key() == "from-the-environment"
    assert not (home / local_secret.FILE_NAME).exists()
