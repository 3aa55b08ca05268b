"""The notebooks part says how long each notebook took, from pytest's JUnit report."""

from __future__ import annotations

from pathlib import Path

from course.suite.parts import notebook_times


def test_cells_add_up_per_notebook(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
        '<testcase classname="notebooks.02_orm_queries.ipynb" name="Cell 0" time="1.5" />'
        '<testcase classname="notebooks.02_orm_queries.ipynb" name="Cell 1" time="2.25" />'
        '<testcase classname="notebooks.00_welcome.ipynb" name="Cell 0" time="0.5" />'
        '<testcase classname="course.tests.other" name="test_x" time="9" />'
        "</testsuite></testsuites>")
    assert notebook_times(report) == {"00": 0.5, "02": 3.75}
    assert notebook_times(tmp_path / "missing.xml") == {}
