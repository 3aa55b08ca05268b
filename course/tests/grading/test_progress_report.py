"""`course progress --plain` and `--html`: what the learner's checks recorded, to paste or to
send as one file."""

from __future__ import annotations

from pathlib import Path

from course import catalog, paths
from course.grading import progress_report
from course.tests.conftest import run_course

ENTRIES = [
    {"exercise": "02.1", "target": "starter", "status": "failed",
     "measured": [{"value": "16 queries for 3 reviews, 25 for 12", "unit": ""}]},
    {"exercise": "02.1", "target": "starter", "status": "passed",
     "measured": [{"value": "13 queries for 3 reviews, 13 for 12", "unit": ""}]},
    {"exercise": "02.2", "target": "reference", "status": "passed", "measured": []},
    {"exercise": "02.3", "target": "starter", "status": "not attempted", "measured": []},
]


def _lines():
    return progress_report.chapters(catalog.load(), {"02.1": "2026-12-01T10:00:00"}, ENTRIES)


def test_plain_text_has_a_bar_per_chapter_and_the_last_check_of_each_exercise() -> None:
    cat = catalog.load()
    text = progress_report.plain(_lines())
    assert "\x1b[" not in text
    assert text.startswith(f"Django Under Load: 1/{len(cat.exercises)} exercises passed")
    chapter_02 = next(line for line in text.splitlines() if line.startswith("02 "))
    count = len(cat.select("02"))
    filled = round(10 / count)
    assert f"[{'#' * filled}{'.' * (10 - filled)}] 1/{count}" in chapter_02
    assert "02.1✓" in chapter_02 and "02.2·" in chapter_02
    assert "  02.1 passed: 13 queries for 3 reviews, 13 for 12" in text  # the newest only
    assert "02.2" not in text.split("Last checks:")[1]  # the reference's checks are not yours
    assert "  02.3 not attempted" in text
    assert "(guided tour)" in text.splitlines()[2]


def test_the_html_page_stands_alone(tmp_path: Path) -> None:
    path = progress_report.write_html(_lines(), tmp_path / "p.html")
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert "13 queries for 3 reviews, 13 for 12" in page
    assert "✓ passed" in page and "not checked yet" in page
    count = len(catalog.load().select("02"))
    assert f'style="width:{100 / count:.0f}%"' in page


def test_the_cli_writes_both(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shown = run_course(paths.ROOT, "progress", "--plain", COURSE_HOME=str(home))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Django Under Load: 0/")
    written = run_course(paths.ROOT, "progress", "--html", COURSE_HOME=str(home))
    assert written.returncode == 0, written.stderr
    assert (home / "reports" / "progress.html").exists()
