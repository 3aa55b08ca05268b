"""The instructor guide's common mistakes are the course-owned wrong solutions, all of them,
as they are now."""

from __future__ import annotations

import pytest

from course import catalog
from course.project import steps
from course.suite import guide


def test_the_guide_lists_every_wrong_solution_as_it_is() -> None:
    text = guide.GUIDE.read_text(encoding="utf-8")
    assert guide.with_section(text, guide.mistakes(catalog.load())) == text, (
        "lessons/instructor_guide.md is out of date: run `python -m course.suite.guide`")
    for wrong in steps.wrong_solutions(catalog.load()):
        assert f"(`{wrong.path.name}`)" in text


def test_the_section_is_found_between_its_markers_or_not_at_all() -> None:
    text = f"before\n{guide.START}\nold\n{guide.END}\nafter\n"
    assert guide.with_section(text, "new\n") == f"before\n{guide.START}\n\nnew\n\n{guide.END}\nafter\n"
    with pytest.raises(ValueError, match="no section"):
        guide.with_section("no markers here", "new\n")
