"""Run ``manage.py`` commands of a project state with the course's clean settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from course import paths


def learner_db() -> str:
    """"postgres" or "sqlite": the database the learner's project uses, read the way its
    settings read it (the environment, then ``.course/env``)."""
    from course import envfile

    chosen = os.environ.get("COURSE_DB") or envfile.read().get("COURSE_DB") or "sqlite"
    return "postgres" if chosen == "postgres" else "sqlite"


def learner_sqlite() -> Path:
    """The learner's SQLite database file (the settings read the same variable)."""
    return Path(os.environ.get("COURSE_SQLITE_PATH") or paths.STATE / "shop.sqlite3")


def manage_env(target: Path = paths.STARTER, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        DJANGO_SETTINGS_MODULE="grading_settings",
        COURSE_TARGET_DIR=str(target),
        PYTHONPATH=paths.pythonpath(target, paths.EXERCISES_TESTS, paths.ROOT),
    )
    env.update(extra)
    return env


def manage(
    *args: str, target: Path = paths.STARTER, capture: bool = False, **extra: str
) -> subprocess.CompletedProcess[str]:
    """``python manage.py <args>`` in ``target``; raises CalledProcessError on failure."""
    return subprocess.run(
        [sys.executable, str(target / "manage.py"), *args],
        cwd=target,
        env=manage_env(target, **extra),
        check=True,
        text=True,
        capture_output=capture,
    )


def _seed_stamp(database: str | None = None) -> Path:
    return paths.STATE / f"seeded-{database or os.environ.get('COURSE_DB', 'sqlite')}"


def learner_database_problem() -> str | None:
    """What is missing from the learner's shop database (None when it is migrated and
    seeded), with the command that fixes it. Graders use their own test database: this is
    the one the notebooks, the browser and ``manage.py`` use."""
    database = learner_db()
    if database == "sqlite" and not learner_sqlite().exists():
        return "not created yet: `python3 -m course lab` migrates and seeds it"
    if not _seed_stamp(database).exists():
        return "not migrated and seeded yet: `python3 -m course lab` does both"
    return None


def prepare_database(scale: str, *, target: Path = paths.STARTER, force: bool = False,
                     **extra: str) -> bool:
    """Migrate, and seed at ``scale`` unless that was already done. True if it seeded."""
    stamp = _seed_stamp(extra.get("COURSE_DB"))
    manage("migrate", "--no-input", "-v0", target=target, **extra)
    if not force and stamp.exists() and stamp.read_text().strip() == scale and \
            "COURSE_SQLITE_PATH" not in extra:
        return False
    manage("seed_shop", "--scale", scale, target=target, **extra)
    if "COURSE_SQLITE_PATH" not in extra:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(scale)
    return True
