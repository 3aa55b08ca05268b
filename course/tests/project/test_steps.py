"""The reference solution as steps: diffs that apply exactly, survive starter edits nearby, say
clearly when they do not, and round-trip through the maintainers' git history."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from course import catalog, paths
from course.project import patches, states, steps

CATALOG = catalog.load()


def test_every_state_builds_and_chapters_end_where_their_last_exercise_does() -> None:
    for chapter in CATALOG.chapters:
        if chapter.exercises:
            last = chapter.exercises[-1].id
            assert states.reference_state(CATALOG, chapter.number).joinpath(
                ".course-state").exists()
            built = steps.read_tree(states.reference_state(CATALOG, last))
            whole = steps.read_tree(states.reference_state(CATALOG, chapter.number))
            built.pop(".course-state")
            whole.pop(".course-state")
            assert built == whole


def test_a_step_is_exactly_its_exercises_change() -> None:
    exercise = CATALOG.exercise("05.5")
    before = steps.read_tree(states.state_before(CATALOG, exercise))
    after = steps.read_tree(states.reference_state(CATALOG, "05.5"))
    changed = {rel for rel in set(before) | set(after)
               if before.get(rel) != after.get(rel) and rel != ".course-state"}
    assert changed == {"shop/bestsellers.py"}
    assert "cache.add(LOCK_KEY" in after["shop/bestsellers.py"]
    assert "get_or_set" in before["shop/bestsellers.py"], "05.4 is in the state before 05.5"


def test_a_starter_edit_near_a_step_leaves_it_applying() -> None:
    step = steps.Step(CATALOG.exercise("02.1"))
    [file_patch] = step.file_patches()
    shipped = (paths.STARTER / file_patch.path).read_text()
    edited = shipped.replace('"""One product\'s page', '"""Grown by a maintainer.\n\nOne product\'s page')
    assert edited != shipped
    result = patches.apply(file_patch, edited)
    assert result is not None and result.startswith('"""Grown by a maintainer.')
    assert 'select_related("customer")' in result


def test_a_starter_edit_inside_a_step_is_named_precisely() -> None:
    step = steps.Step(CATALOG.exercise("02.1"))
    [file_patch] = step.file_patches()
    shipped = (paths.STARTER / file_patch.path).read_text()
    edited = shipped.replace('reviews = product.review_set.order_by("-created_at")',
                             'reviews = product.reviews_newest_first()')
    with pytest.raises(patches.PatchError, match=r"02\.1\.diff: hunk 1 of shop/views/"
                                                 r"product_detail\.py .* the starter changed"):
        patches.apply(file_patch, edited, source="solutions/02_orm_queries/02.1.diff")


def test_unpack_then_pack_gives_back_the_same_files(course_copy: Path, tmp_path: Path) -> None:
    repo = tmp_path / "steps"

    def run(*args: str) -> None:
        result = subprocess.run([sys.executable, "-m", "course.project.steps", *args],
                                cwd=course_copy, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr

    run("unpack", str(repo))
    log = subprocess.run(["git", "log", "--format=%s"], cwd=repo, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert log[-1] == "starter" and log[0].startswith(CATALOG.exercises[-1].id)
    assert len(log) == len(CATALOG.exercises) + 1
    run("pack", str(repo))
    status = subprocess.run(["git", "status", "--porcelain"], cwd=course_copy,
                            capture_output=True, text=True, check=True).stdout
    assert status == "", f"pack changed files: {status}"


@pytest.mark.parametrize("wrong", steps.wrong_solutions(CATALOG), ids=lambda w: w.path.name)
def test_every_wrong_solution_names_its_exercise_says_why_and_applies(wrong) -> None:
    """The suite's proof grades these and wants each rejected with ``rejected_with`` in the
    grader's message (course/suite/proof.py)."""
    assert wrong.what and wrong.rejected_with, f"{wrong.path.name}: say what it gets wrong"
    built = states.wrong_state(CATALOG, wrong)
    before = states.state_before(CATALOG, wrong.exercise)
    changed = [p.path for p in wrong.file_patches()]
    assert changed and all((built / rel).read_bytes() != (before / rel).read_bytes()
                           for rel in changed if (before / rel).exists())
