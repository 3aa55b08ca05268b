"""Fixtures for the tooling tests: a throw-away copy of the course in its own git repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course import paths

COPIED = ["course", "exercises_tests", "solutions", "starter_project", "requirements.txt",
          "pyproject.toml"]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    """A committed copy of the course; its CLI runs with this test's venv."""
    root = tmp_path / "course-copy"
    root.mkdir()
    for name in COPIED:
        source = paths.ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
        elif source.exists():
            shutil.copy2(source, root / name)
    _git(root, "init", "-q")
    _git(root, "-c", "user.name=Learner", "-c", "user.email=learner@example.com",
         "add", "-A")
    _git(root, "-c", "user.name=Learner", "-c", "user.email=learner@example.com",
         "commit", "-q", "-m", "course as shipped")
    return root


def run_course(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m course <args>`` inside ``root``, reusing this interpreter's venv."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
    environment.update(COURSE_VENV=sys.prefix, **env)
    return subprocess.run(
        [sys.executable, "-m", "course", *args],
        cwd=root, env=environment, capture_output=True, text=True, stdin=subprocess.DEVNULL,
        timeout=300,
    )
