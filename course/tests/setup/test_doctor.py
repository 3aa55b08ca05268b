"""doctor tells the course's own JupyterLab from a stranger on its port, and says when the
shop's database has not been set up."""

from __future__ import annotations

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

