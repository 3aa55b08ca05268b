"""The notebooks part says how long each notebook took, and which failed, from pytest's JUnit
report."""

from __future__ import annotations

from pathlib import Path

from course.suite.parts import NotebookRun, notebook_run


def test_cells_add_up_per_notebook_and_a_failed_cell_marks_its_notebook(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
        '<testcase classname="notebooks.02_orm_queries.ipynb" name="Cell 0" time="1.5" />'
        '<testcase classname="notebooks.02_orm_queries.ipynb" name="Cell 1" time="2.25">'
        '<failure message="boom">Traceback</failure></testcase>'
        '<testcase classname="notebooks.00_welcome.ipynb" name="Cell 0" time="0.5" />'
        '<testcase classname="notebooks.03_indexes.ipynb" name="Cell 0" time="1">'
        '<error message="kernel died" /></testcase>'
        '<testcase classname="course.tests.other" name="test_x" time="9">'
        '<failure message="not a notebook" /></testcase>'
        "</testsuite></testsuites>")
    assert notebook_run(report) == NotebookRun({"00": 0.5, "02": 3.75, "03": 1.0}, ["02", "03"])
    assert notebook_run(tmp_path / "missing.xml") == NotebookRun({}, [])
