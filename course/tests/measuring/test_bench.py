"""bench measures two project states in separate processes, on copies of one database."""

from __future__ import annotations

from pathlib import Path

from course import catalog, paths
from course.measuring import bench
from course.project import commands, states


def test_starter_and_reference_measured_on_the_same_data(tmp_path: Path) -> None:
    database = tmp_path / "bench.sqlite3"
    commands.prepare_database("tiny", COURSE_SQLITE_PATH=str(database))
    before = database.read_bytes()
    cat = catalog.load()
    reference = states.reference_state(cat, states.final_chapter(cat))
    pages = ["product detail", "order list"]
    yours = bench.measure_state(paths.STARTER, database=database, repeat=1, pages=pages)
    theirs = bench.measure_state(reference, database=database, repeat=1, pages=pages)
    assert [m.name for m in yours] == [m.name for m in theirs] == pages
    assert all(m.status == 200 and m.queries > 0 and m.median_ms > 0 for m in yours + theirs)
    assert database.read_bytes() == before, "measuring works on a copy"
