"""setup_django() in a notebook kernel catches the learner's database up with the project's
migrations (a course update added a field), as `course lab` does, and says which."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from course import paths

KERNEL = """
from course.notebook.kernel import setup_django
setup_django()
from shop.models import Product
print("columns ok:", Product.objects.filter(image="").count() >= 0)
"""


def test_a_database_behind_the_migrations_is_caught_up(tmp_path: Path) -> None:
    database = tmp_path / "behind.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_", "DJANGO_"))}
    env.update(COURSE_SQLITE_PATH=str(database), PYTHONPATH=str(paths.ROOT),
               COURSE_HOME=str(tmp_path / "state"))
    for args in (["migrate", "-v0"], ["migrate", "shop", "0001", "-v0"]):  # one step behind
        behind = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=paths.STARTER, capture_output=True,
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.base"}, text=True,
            timeout=120)
        assert behind.returncode == 0, behind.stderr
    kernel = subprocess.run([sys.executable, "-c", KERNEL], cwd=paths.ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert kernel.returncode == 0, kernel.stderr
    assert "lacked shop.0002_product_pictures: migrated it." in kernel.stdout
    assert "columns ok: True" in kernel.stdout
