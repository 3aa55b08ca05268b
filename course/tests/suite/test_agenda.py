"""The guide's timings: measured machine time plus stated allowances, per chapter and per
block of the agendas, written from lessons/agenda.json."""

from __future__ import annotations

from course import catalog
from course.suite import agenda, guide

CATALOG = catalog.parse("""
[[chapter]]
slug = "00_welcome"
title = "Welcome"

[[chapter]]
slug = "01_measure_first"
title = "Measure first"

[[chapter.exercise]]
id = "01.1"
title = "a"

[[chapter.exercise]]
id = "01.2"
title = "b"
""")
DATA = {"measured": "2026-12-06", "machine": "2 cores, Linux x86_64, Python 3.11.7",
        "scale": "medium", "notebook_failures": [],
        "chapters": {"00": {"exercises": 0, "notebook_s": 20.0},
                     "01": {"exercises": 2, "notebook_s": 150.0, "check_s": 10.0, "passed": 2}}}


def test_a_chapter_is_planned_from_its_measured_runs_and_the_allowances() -> None:
    # 15 + 2 x 12 + (150 + 3 x 10) / 60 = 42 minutes, to the next five: 45.
    assert agenda.planned_minutes(DATA["chapters"]["01"]) == 45
    assert agenda.planned_minutes(DATA["chapters"]["00"]) == 20  # 15 + 20 s


def test_the_section_shows_the_measurements_and_the_blocks() -> None:
    text = agenda.section(DATA, CATALOG)
    assert "| 01 Measure first | 2 | 2.5 min | 10 s | 45 min |" in text
    assert "| 00 Welcome | 0 | 20 s | – | 20 min |" in text
    assert "| morning | 00, 01, 02 | 1 h 05 |" in text  # 02 not measured: not counted
    assert "2 cores, Linux x86_64" in text and "allowances, not measurements" in text


def test_the_section_goes_between_its_comments_and_nowhere_else() -> None:
    text = f"intro\n{agenda.START}\nold\n{agenda.END}\n{guide.START}\nkept\n{guide.END}\n"
    out = guide.with_section(text, "new\n", agenda.START, agenda.END)
    assert "old" not in out and "new" in out and "kept" in out
