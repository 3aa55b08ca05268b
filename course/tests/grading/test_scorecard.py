"""The scorecard shows every check of the course with what the learner's last check said."""

from __future__ import annotations

from course import catalog
from course.grading import scorecard

CATALOG = catalog.load()


def _entry(status: str, value: str = "", target: str = "") -> dict:
    measured = [{"value": value, "target": target, "unit": "queries"}] if value else []
    return {"time": "2026-12-01T10:00:00", "target": "starter", "status": status,
            "measured": measured}


def test_every_check_of_the_course_has_a_row() -> None:
    found = scorecard.rows(CATALOG, {}, {})
    assert [row["check"].split()[0] for row in found] == [e.id for e in CATALOG.exercises]
    assert {row["status"] for row in found} == {"not checked yet"}


def test_a_row_shows_the_last_verdict_and_what_it_measured() -> None:
    latest = {("02.1", "starter"): _entry("passed", "3", "at most 3"),
              ("02.2", "reference"): _entry("passed", "2")}  # the reference's: not yours
    rows = {row["check"].split()[0]: row for row in scorecard.rows(CATALOG, {}, latest)}
    assert rows["02.1"]["status"] == scorecard.MARKS["passed"]
    assert rows["02.1"]["measured"] == "3 queries"
    assert rows["02.1"]["target"] == "at most 3"
    assert rows["02.2"]["status"] == "not checked yet"


def test_a_check_that_passed_once_and_fails_now_says_both() -> None:
    latest = {("03.1", "starter"): _entry("failed")}
    [row] = [r for r in scorecard.rows(CATALOG, {"03.1": "2026-11-30T09:00:00"}, latest)
             if r["check"].startswith("03.1 ")]
    assert row["status"] == f"{scorecard.MARKS['failed']} (passed on 2026-11-30)"


def test_the_markdown_counts_each_chapter_and_escapes_cells() -> None:
    chapter = next(c for c in CATALOG.chapters if c.exercises)
    latest = {(e.id, "starter"): _entry("passed", "a | b") for e in chapter.exercises}
    text = scorecard.markdown(CATALOG, {}, latest)
    total = len(CATALOG.exercises)
    assert f"{len(chapter.exercises)} of {total} checks pass" in text
    assert f"| {chapter.number} {chapter.title} | {len(chapter.exercises)} of " \
           f"{len(chapter.exercises)} ✅ |" in text
    assert "a \\| b queries" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "." in line[:8]]
    assert len(rows) == total
