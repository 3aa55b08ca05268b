"""Every filesystem location the course tooling uses, in one place."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# COURSE_STARTER lets tooling tests supervise a stand-in project.
STARTER = Path(os.environ.get("COURSE_STARTER", ROOT / "starter_project"))
SOLUTIONS = ROOT / "solutions"
EXERCISES_TESTS = ROOT / "exercises_tests"
CATALOG = EXERCISES_TESTS / "catalog.toml"
NOTEBOOKS = ROOT / "notebooks"
LESSONS = ROOT / "lessons"
REQUIREMENTS = ROOT / "requirements.txt"
# COURSE_VENV lets tooling tests drive a copy of the course with this venv.
VENV = Path(os.environ.get("COURSE_VENV", ROOT / ".venv"))

# Runtime state; ignored by git. COURSE_HOME lets tests use a throw-away copy.
STATE = Path(os.environ.get("COURSE_HOME", ROOT / ".course"))
ENV_FILE = STATE / "env"
LOGS = STATE / "logs"
RUN = STATE / "run"
DATA = STATE / "data"
MAIL = STATE / "mail"
BACKUPS = STATE / "backups"
REFERENCE = STATE / "reference"
PROGRESS_FILE = STATE / "progress.toml"
LEDGER = STATE / "ledger.jsonl"


# The guard of a learner graded in a room (course/grading/guard_site/sitecustomize.py).
GUARD_SITE = ROOT / "course" / "grading" / "guard_site"
GUARD_VARIABLE = "COURSE_ROOM_GUARD"


def pythonpath(*entries: Path | str) -> str:
    """A ``PYTHONPATH`` of ``entries``, with the room's guard first when this process is a
    learner's grading in a room (``course grade``): every Python process it starts keeps it."""
    guard = [str(GUARD_SITE)] if os.environ.get(GUARD_VARIABLE) else []
    return os.pathsep.join([*guard, *(str(entry) for entry in entries)])


def venv_python(venv: Path = VENV) -> Path:
    """The interpreter inside a virtual environment."""
    return venv / "bin" / "python"
