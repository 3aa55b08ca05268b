"""Repository hygiene that learners' resets depend on."""

from __future__ import annotations

import pytest

from course.project import states


def test_starter_changes_ship_with_a_course_update() -> None:
    """Learners' base commit follows commits to the course's own folders only.

    So the newest commit that changed starter_project/ must also be (or come
    before) a commit that changed one of those folders.
    """
    if not states.has_git():
        pytest.skip("not a git checkout")
    git = states._git
    starter = git("log", "-1", "--format=%H", "--", states.STARTER_DIR).stdout.decode().strip()
    course = git("log", "-1", "--format=%H", "--", *states.COURSE_OWNED).stdout.decode().strip()
    if not starter or not course:
        pytest.skip("shallow history")
    assert states._is_ancestor(starter, course), (
        "the last commit to starter_project/ touches none of "
        f"{', '.join(states.COURSE_OWNED)}: learners who pull it keep the old starter"
    )
