"""`course grade` puts several learners' projects into one table for an instructor."""

from __future__ import annotations

from pathlib import Path

from course import catalog, paths
from course.project import states
from course.tests.conftest import run_course


def test_grade_table_for_a_room(tmp_path: Path) -> None:
    cat = catalog.load()
    solved = states.reference_state(cat, "01")
    missing = tmp_path / "nobody"
    missing.mkdir()
    result = run_course(paths.ROOT, "grade", str(paths.ROOT), str(solved), str(missing),
                        "--chapter", "01")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    untouched = next(line for line in lines if line.startswith(str(paths.ROOT)[:29]))
    assert untouched.split()[-1] == "0/3" and untouched.count("·") == 3
    done = next(line for line in lines if line.startswith(str(solved)[:29]))
    assert done.split()[-1] == "3/3"
    assert any("no manage.py" in line for line in lines)
