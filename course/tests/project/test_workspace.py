"""apply and reset never lose a learner's work: backups, dirty-tree refusal, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from course.tests.conftest import run_course

BUDGET = "starter_project/shop/query_budget.py"
SOLVED = "solutions/01_measure_first/shop/query_budget.py"


def _backups(root: Path) -> list[Path]:
    return sorted((root / ".course" / "backups").glob("*"))


def test_apply_writes_the_solution_and_backs_up(course_copy: Path) -> None:
    shipped = (course_copy / BUDGET).read_text()
    result = run_course(course_copy, "apply", "01")
    assert result.returncode == 0, result.stderr
    assert (course_copy / BUDGET).read_text() == (course_copy / SOLVED).read_text()
    [backup] = _backups(course_copy)
    assert (backup / BUDGET).read_text() == shipped
    assert str(backup) in result.stdout


def test_dirty_tree_is_refused_and_untouched(course_copy: Path) -> None:
    (course_copy / BUDGET).write_text("# my own attempt\n")
    result = run_course(course_copy, "apply", "01")
    assert result.returncode == 2
    assert "uncommitted changes" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (course_copy / BUDGET).read_text() == "# my own attempt\n"
    assert _backups(course_copy) == []


def test_force_keeps_the_learner_version_in_a_backup(course_copy: Path) -> None:
    (course_copy / BUDGET).write_text("# my own attempt\n")
    result = run_course(course_copy, "apply", "01", "--force")
    assert result.returncode == 0, result.stderr
    [backup] = _backups(course_copy)
    assert (backup / BUDGET).read_text() == "# my own attempt\n"


def test_reset_returns_to_the_shipped_file(course_copy: Path) -> None:
    shipped = (course_copy / BUDGET).read_text()
    (course_copy / BUDGET).write_text("# my own attempt\n")
    result = run_course(course_copy, "reset", "01.2", "--force")
    assert result.returncode == 0, result.stderr
    assert (course_copy / BUDGET).read_text() == shipped
    [backup] = _backups(course_copy)
    assert (backup / BUDGET).read_text() == "# my own attempt\n"


def test_reset_of_an_untouched_exercise_changes_nothing(course_copy: Path) -> None:
    result = run_course(course_copy, "reset", "01.2")
    assert result.returncode == 0, result.stderr
    assert "nothing to change" in result.stdout
    assert _backups(course_copy) == []


def test_bad_ids_get_one_clear_line(course_copy: Path) -> None:
    for args, expected in [
        (("hint", "99.1"), "no exercise 99.1"),
        (("hint", "banana"), "not an exercise id"),
        (("check", "00"), "no graded exercises"),
        (("apply", "42"), "no chapter 42"),
    ]:
        result = run_course(course_copy, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert expected in result.stderr
        assert "Traceback" not in result.stderr


def test_learner_commits_keep_the_shipped_starter_and_updates_move_it(course_copy: Path) -> None:
    import subprocess

    def commit(message: str) -> None:
        for args in (["add", "-A"], ["commit", "-q", "-m", message]):
            subprocess.run(["git", "-c", "user.name=L", "-c", "user.email=l@example.com", *args],
                           cwd=course_copy, check=True, capture_output=True)

    shipped = (course_copy / BUDGET).read_text()
    assert run_course(course_copy, "progress").returncode == 0  # records the base
    (course_copy / BUDGET).write_text("# my committed attempt\n")
    commit("my work")
    result = run_course(course_copy, "reset", "01.2")
    assert result.returncode == 0, result.stderr
    assert (course_copy / BUDGET).read_text() == shipped

    updated = shipped + "# a course update\n"
    (course_copy / BUDGET).write_text(updated)
    (course_copy / "course" / "UPDATE").write_text("new release\n")
    commit("course update")
    (course_copy / BUDGET).write_text("# my next attempt\n")
    commit("more of my work")
    assert run_course(course_copy, "reset", "01.2").returncode == 0
    assert (course_copy / BUDGET).read_text() == updated


def _manage(root: Path, database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.base", COURSE_SQLITE_PATH=str(database))
    return subprocess.run([sys.executable, "manage.py", *args], cwd=root / "starter_project",
                          env=env, capture_output=True, text=True, timeout=120)


def test_models_and_migrations_move_together(course_copy: Path, tmp_path: Path) -> None:
    """apply 03 over the learner's own migration: it is backed up and removed, the database
    is migrated back first, and the reference migration then applies cleanly."""
    database = tmp_path / "learner.sqlite3"
    models = course_copy / "starter_project/shop/models.py"
    mine = "starter_project/shop/migrations/0002_mine.py"
    models.write_text(models.read_text().replace(
        "created_at = models.DateTimeField(default=timezone.now)\n    note",
        "created_at = models.DateTimeField(default=timezone.now, db_index=True)\n    note"))
    for args in (("makemigrations", "shop", "-n", "mine"), ("migrate", "-v0")):
        done = _manage(course_copy, database, *args)
        assert done.returncode == 0, done.stderr
    assert (course_copy / mine).exists()

    result = run_course(course_copy, "apply", "03", "--force", COURSE_SQLITE_PATH=str(database))
    assert result.returncode == 0, result.stderr
    assert "migrated shop back to 0001_initial" in result.stdout
    assert not (course_copy / mine).exists()
    [backup] = _backups(course_copy)
    assert (backup / mine).exists(), "the learner's migration was not backed up"
    migrated = _manage(course_copy, database, "migrate", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    shown = _manage(course_copy, database, "showmigrations", "shop").stdout
    assert "[X] 0002_order_indexes" in shown and "0002_mine" not in shown
