"""apply and reset never lose a learner's work: backups, dirty-tree refusal, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from course.tests.conftest import run_course

BUDGET = "starter_project/shop/query_budget.py"
SOLVED = ".course/reference/after_01/shop/query_budget.py"  # built by `apply 01`


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
    mine = "starter_project/shop/migrations/0003_mine.py"
    models.write_text(models.read_text().replace(
        "created_at = models.DateTimeField(default=timezone.now)\n    note",
        "created_at = models.DateTimeField(default=timezone.now, db_index=True)\n    note"))
    for args in (("makemigrations", "shop", "-n", "mine"), ("migrate", "-v0")):
        done = _manage(course_copy, database, *args)
        assert done.returncode == 0, done.stderr
    assert (course_copy / mine).exists()

    result = run_course(course_copy, "apply", "03", "--force", COURSE_SQLITE_PATH=str(database))
    assert result.returncode == 0, result.stderr
    assert "migrated shop back to 0002_product_pictures" in result.stdout
    assert not (course_copy / mine).exists()
    [backup] = _backups(course_copy)
    assert (backup / mine).exists(), "the learner's migration was not backed up"
    migrated = _manage(course_copy, database, "migrate", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    shown = _manage(course_copy, database, "showmigrations", "shop").stdout
    assert "[X] 0005_order_pending_idx" in shown and "0003_mine" not in shown


# --- exercise-sized resets: never another exercise's work -----------------------------------

def _commit(root: Path, message: str) -> None:
    for args in (["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(["git", "-c", "user.name=L", "-c", "user.email=l@example.com", *args],
                       cwd=root, check=True, capture_output=True)


def _edit(root: Path, rel: str, old: str, new: str) -> str:
    if not (root / ".course" / "base").exists():  # the learner's first command records the
        assert run_course(root, "progress").returncode == 0  # starter as shipped
    path = root / "starter_project" / rel
    text = path.read_text()
    assert old in text, (rel, old)
    path.write_text(text.replace(old, new))
    return path.read_text()


def test_reset_of_one_exercise_keeps_another_exercises_committed_fix(course_copy: Path) -> None:
    """The learner fixed 02.1 and 02.4 and committed; `reset 02.1` undoes 02.1 only."""
    detail = _edit(course_copy, "shop/views/product_detail.py",
                   'product.review_set.order_by("-created_at")',
                   'product.review_set.select_related("customer").order_by("-created_at")')
    mine = _edit(course_copy, "shop/views/order_list.py",
                 '.order_by("-created_at")\n    return',
                 '.order_by("-created_at").select_related("customer")'
                 '.prefetch_related("items")\n    return')
    _commit(course_copy, "02.1 and 02.4 done")
    result = run_course(course_copy, "reset", "02.1")
    assert result.returncode == 0, result.stderr
    assert "wrote 1 file(s): shop/views/product_detail.py" in result.stdout
    assert (course_copy / "starter_project/shop/views/order_list.py").read_text() == mine
    shipped = (course_copy / "starter_project/shop/views/product_detail.py").read_text()
    assert "select_related" not in shipped and "TODO(02.1)" in shipped
    [backup] = _backups(course_copy)
    assert (backup / "starter_project/shop/views/product_detail.py").read_text() == detail


BEST = "shop/bestsellers.py"


def test_two_exercises_in_one_file_are_never_reset_apart_blindly(course_copy: Path) -> None:
    """05.4 and 05.5 share bestsellers.py. With the learner's own code for both, resetting
    05.5 alone cannot be done exactly: the file is left alone and the learner told why."""
    mine = _edit(course_copy, BEST,
                 "    # TODO(05.4): this adds up every order line ever sold, on every product "
                 "page. Keep the\n    # result in the cache, and forget it as soon as an order "
                 "or order line changes.\n    # TODO(05.5)", "    # cached (my own 05.4)\n    # solved 05.5 my way")
    _commit(course_copy, "05.4 and 05.5, my way")
    result = run_course(course_copy, "reset", "05.5")
    assert result.returncode == 1
    assert "also holds your work on 05.4" in result.stdout
    assert "--whole-file" in result.stdout and "reset 05.4 05.5" in result.stdout
    assert (course_copy / "starter_project" / BEST).read_text() == mine
    assert _backups(course_copy) == []

    result = run_course(course_copy, "reset", "05.5", "--whole-file")
    assert result.returncode == 0, result.stderr
    assert "TODO(05.4)" in (course_copy / "starter_project" / BEST).read_text()
    [backup] = _backups(course_copy)
    assert (backup / "starter_project" / BEST).read_text() == mine


def test_a_reference_version_is_reset_exactly_to_the_exercise_before(course_copy: Path) -> None:
    assert run_course(course_copy, "progress").returncode == 0
    assert run_course(course_copy, "apply", "05").returncode == 0
    _commit(course_copy, "chapter 05 applied")
    result = run_course(course_copy, "reset", "05.5")
    assert result.returncode == 0, result.stdout + result.stderr
    after_05_4 = run_course(course_copy, "solution", "05.5", "--yes").stdout
    text = (course_copy / "starter_project" / BEST).read_text()
    assert "TODO(05.5)" in text and "get_or_set" in text and "TODO(05.4)" not in text
    assert "cache.add(LOCK_KEY" not in text and "cache.add(LOCK_KEY" in after_05_4


def test_an_untouched_later_exercise_in_the_file_does_not_block_a_reset(course_copy: Path) -> None:
    """product_list.py holds 02.3 and 05.2; a learner on 02.3 resets it whole: 05.2 was
    never started there (its marker is as shipped, never checked)."""
    _edit(course_copy, "shop/views/product_list.py", '.order_by("name")\n',
          '.order_by("name").select_related("category")\n')
    _commit(course_copy, "trying 02.3")
    result = run_course(course_copy, "reset", "02.3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "select_related" not in (course_copy / "starter_project/shop/views/product_list.py"
                                    ).read_text()


def test_an_exercise_without_a_marker_in_the_file_goes_by_its_markers_elsewhere(
        course_copy: Path) -> None:
    """09.5 edits product_list.py with its marker in middleware.py only: once that marker
    is gone (09.5 started), a reset of 02.3 leaves product_list.py alone and says why."""
    _edit(course_copy, "shop/views/product_list.py", '.order_by("name")\n',
          '.order_by("name").select_related("category")\n')
    middleware = course_copy / "starter_project/shop/middleware.py"
    middleware.write_text(middleware.read_text().replace("TODO(09.5)", "started 09.5"))
    _commit(course_copy, "trying 02.3, and 09.5 started")
    result = run_course(course_copy, "reset", "02.3")
    assert "also holds your work on 09.5" in result.stdout, result.stdout + result.stderr
    assert "select_related" in (course_copy / "starter_project/shop/views/product_list.py"
                                ).read_text()


def test_a_moved_file_is_named_and_kept_by_reset_and_removed_with_a_backup_by_apply(
        course_copy: Path) -> None:
    """A checkout that still has shop/views.py (the layout before shop/views/) next to the
    new package: the work in it is never lost, and the learner is told where it goes."""
    assert run_course(course_copy, "progress").returncode == 0
    old_views = course_copy / "starter_project/shop/views.py"
    old_views.write_text("# my 02.1 and 02.4 work, from before the course moved the views\n")
    _commit(course_copy, "old layout leftover")
    reset = run_course(course_copy, "reset", "02.1")
    assert reset.returncode == 0, reset.stderr
    assert "shop/views.py is from the course's earlier layout" in reset.stdout
    assert old_views.exists()
    solution = run_course(course_copy, "solution", "02.1", "--yes")
    assert "shop/views/product_detail.py" in solution.stdout
    assert "shop/views.py is from the course's earlier layout" in solution.stdout
    applied = run_course(course_copy, "apply", "02")
    assert applied.returncode == 0, applied.stderr
    assert not old_views.exists()
    [backup] = _backups(course_copy)
    assert (backup / "starter_project/shop/views.py").read_text().startswith("# my 02.1")
    assert "earlier layout" in applied.stdout
