"""doctor tells the course's own JupyterLab from a stranger on its port, and says when the
shop's database has not been set up."""

from __future__ import annotations

import re
from pathlib import Path

from course import paths
from course.project import commands
from course.setup import doctor


def test_the_courses_own_lab_on_8888_is_not_a_problem(monkeypatch) -> None:
    monkeypatch.setattr(doctor, "running_jupyter_servers", lambda: [
        {"port": 8888, "root_dir": str(paths.ROOT), "url": "http://127.0.0.1:8888/"}])
    finding = doctor._lab_port(8888, free=False)
    assert finding.level == "ok" and "course's JupyterLab" in finding.detail


def test_a_stranger_on_8888_gets_another_port(monkeypatch) -> None:
    monkeypatch.setattr(doctor, "running_jupyter_servers", lambda: [
        {"port": 8888, "root_dir": "/home/someone/else"}])
    finding = doctor._lab_port(8888, free=False)
    assert finding.level == "warn" and "--port 8890" in finding.detail


def test_a_missing_shop_database_names_the_command(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_DB", "sqlite")
    monkeypatch.setenv("COURSE_SQLITE_PATH", str(tmp_path / "none.sqlite3"))
    assert "python3 -m course lab" in commands.learner_database_problem()
    finding = doctor._shop_database()
    assert finding.level == "warn"



def test_before_the_stack_is_installed_doctor_checks_the_laptop_with_the_standard_library(
        tmp_path: Path) -> None:
    """A learner runs doctor before the room: it must not install 200 packages first (or
    fail at the one that will not build), and it says what this machine lacks on PyPI. Run
    by a bare Python, in a copy of the course with no .venv."""
    import os
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "course-copy"
    shutil.copytree(paths.ROOT / "course", copy / "course",
                    ignore=shutil.ignore_patterns("__pycache__", "tests"))
    shutil.copy(paths.REQUIREMENTS, copy / "requirements.txt")
    done = subprocess.run([sys.base_prefix + "/bin/python3", "-E", "-s", "-m", "course", "doctor"],
                          cwd=copy, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items()
                               if not k.startswith(("COURSE_", "VIRTUAL_ENV", "PYTHON"))})
    assert not (copy / ".venv").exists(), done.stdout
    assert "missing or stale: run `python3 -m course lab`" in done.stdout, done.stdout + done.stderr
    assert re.search(r"^(ok  |warn|FIX ) wheels ", done.stdout, re.M), done.stdout
    assert "checked once `python3 -m course lab` has installed the stack" in done.stdout
