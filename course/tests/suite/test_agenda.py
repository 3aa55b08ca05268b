"""The guide's timings: measured machine time plus stated allowances, per chapter and per
block of the agendas, written from lessons/agenda.json."""

from __future__ import annotations

import json

import pytest

from course import catalog
from course.suite import agenda, guide

CATALOG_TEXT = """
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
"""
CATALOG = catalog.parse(CATALOG_TEXT)
RAN = {"notebook_ran": True, "notebook_failed": False}
DATA = {"machine": "2 cores, Linux x86_64, Python 3.11.7", "scale": "medium",
        "chapters": {"00": {"exercises": 0, "measured": "2026-12-06", "notebook_s": 20.0, **RAN},
                     "01": {"exercises": 2, "measured": "2026-12-06", "notebook_s": 150.0, **RAN,
                            "check_s": 10.0, "passed": 2}}}


def test_a_chapter_is_planned_from_its_measured_runs_and_the_allowances() -> None:
    # 15 + 2 x 12 + (150 + 3 x 10) / 60 = 42 minutes, to the next five: 45.
    assert agenda.planned_minutes(DATA["chapters"]["01"]) == 45
    assert agenda.planned_minutes(DATA["chapters"]["00"]) == 20  # 15 + 20 s


def test_the_section_shows_the_measurements_and_the_blocks() -> None:
    with_later = catalog.parse(CATALOG_TEXT + '\n[[chapter]]\nslug = "12_production_settings"\n'
                               'title = "Production"\n')
    text = agenda.section(DATA, with_later)
    assert "| 01 Measure first | 2 | 2.5 min | 10 s | 45 min |" in text
    assert "| 00 Welcome | 0 | 20 s | – | 20 min |" in text
    assert "| morning | 01 | 0 h 45 |" in text  # the plan's 02 is not in this catalog
    assert f"| {agenda.AT_HOME} | 00 | 0 h 20 |" in text
    assert "afternoon" not in text  # none of its chapters is in this catalog
    assert "Left for homework or another day: 12." in text  # planned nowhere, and not measured
    assert "2 cores, Linux x86_64" in text and "allowances, not measurements" in text
    assert "Measured on 2026-12-06 (" in text


def test_a_day_that_its_chapters_no_longer_fit_is_named() -> None:
    assert agenda.overbooked(DATA) == []
    slower = json.loads(json.dumps(DATA))
    slower["chapters"]["01"]["notebook_s"] = 7 * 3600.0
    slower["chapters"]["00"]["notebook_s"] = 7 * 3600.0  # at home: in no day's minutes
    assert [problem.split(":")[0] for problem in agenda.overbooked(slower)] == [
        "One day, the day", "Two days, day 1"]


def test_the_guide_shows_what_the_measurements_say_and_they_describe_the_course() -> None:
    data = json.loads(agenda.AGENDA.read_text(encoding="utf-8"))
    assert agenda.overbooked(data) == [], "a plan's day no longer fits: change agenda.AGENDAS"
    assert agenda.stale(data, catalog.load()) == [], (
        "lessons/agenda.json no longer describes the course: run "
        "`python -m course.suite.agenda --measure --only NN` for the chapters named")
    text = guide.GUIDE.read_text(encoding="utf-8")
    wanted = guide.with_section(text, agenda.section(data, catalog.load()),
                                agenda.START, agenda.END)
    assert wanted == text, "the guide's timings are out of date: run `python -m course.suite.agenda`"


def test_a_measurement_that_no_longer_fits_the_course_says_why() -> None:
    grown = catalog.parse(CATALOG_TEXT + '\n[[chapter.exercise]]\nid = "01.3"\ntitle = "c"\n'
                          '\n[[chapter]]\nslug = "02_orm_queries"\ntitle = "ORM"\n')
    assert agenda.stale(DATA, CATALOG) == []
    assert agenda.stale(DATA, grown) == ["chapter 01 had 2 exercises when measured, and has 3",
                                         "chapter 02 was never measured"]
    broken = json.loads(json.dumps(DATA))
    broken["chapters"]["00"]["notebook_failed"] = True
    broken["chapters"]["01"]["passed"] = 1
    assert [problem.split(":")[0] for problem in agenda.stale(broken, CATALOG)] == [
        "chapter 00's notebook failed when measured", "chapter 01"]


def test_chapters_measured_again_replace_theirs_and_keep_the_others() -> None:
    fresh = {**DATA, "chapters": {"01": {**DATA["chapters"]["01"], "measured": "2026-12-09",
                                         "notebook_s": 90.0}}}
    both = agenda.merged(DATA, fresh)
    assert both["chapters"]["00"] == DATA["chapters"]["00"]
    assert both["chapters"]["01"]["notebook_s"] == 90.0
    assert "Measured between 2026-12-06 and 2026-12-09 (" in agenda.section(both, CATALOG)
    with pytest.raises(ValueError, match="measure every chapter again"):
        agenda.merged({**DATA, "machine": "8 cores, Darwin arm64"}, fresh)


def test_the_section_goes_between_its_comments_and_nowhere_else() -> None:
    text = f"intro\n{agenda.START}\nold\n{agenda.END}\n{guide.START}\nkept\n{guide.END}\n"
    out = guide.with_section(text, "new\n", agenda.START, agenda.END)
    assert "old" not in out and "new" in out and "kept" in out


def test_chapters_from_another_machine_are_refused_before_anything_runs(
        tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    kept = tmp_path / "agenda.json"
    kept.write_text(json.dumps({**DATA, "machine": "8 cores, Darwin arm64, Python 3.12.1"}))
    monkeypatch.setattr(agenda, "AGENDA", kept)
    monkeypatch.setattr(agenda, "measure", lambda **_: pytest.fail("measured anyway"))
    assert agenda.main(["--measure", "--only", "01"]) == 1
    assert "measure every chapter again" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        agenda.main(["--measure", "--only", "99"])
    assert "no chapter 99" in capsys.readouterr().err
