"""apply and reset never lose a learner's work: backups, dirty-tree refusal, clear errors."""

from __future__ import annotations

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
