"""What the learner reads for a failed exercise: the grader's words, then the hint that fits."""

from __future__ import annotations

from course import catalog
from course.grading import grader, report

CATALOG = catalog.load()


def _failed(message: str) -> grader.Verdict:
    return grader.Verdict(CATALOG.exercise("02.2"), grader.FAILED, message)


def test_a_tagged_failure_shows_its_own_hint_and_hides_the_tag() -> None:
    hints = CATALOG.exercise("02.2").hints
    shown = report.explanation(_failed("the spend is a float, not a Decimal [hint 3]"))
    assert shown == f"the spend is a float, not a Decimal\nHint: {hints[2]}"


def test_an_untagged_failure_shows_the_first_hint() -> None:
    hints = CATALOG.exercise("02.2").hints
    assert report.explanation(_failed("9 queries")).endswith(f"Hint: {hints[0]}")


def test_a_tag_past_the_last_hint_shows_the_last() -> None:
    assert report.split_hint("too slow [hint 9]") == ("too slow", 9)
    hints = CATALOG.exercise("02.2").hints
    assert report.explanation(_failed("too slow [hint 9]")).endswith(f"Hint: {hints[-1]}")
