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


def venv_python(venv: Path = VENV) -> Path:
    """The interpreter inside a virtual environment."""
    return venv / "bin" / "python"
