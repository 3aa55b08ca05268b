"""The one-line failure messages the grader shows come from the assertion, not pytest's diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.grading.pytest_plugin import _short_message

FAILING = '''
def test_states():
    state = "running"
    assert state == "ready", "the job is still running: acknowledge late"

def test_bare():
    assert 3 <= 2
'''


def _messages(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "test_sample.py").write_text(FAILING)
    found: dict[str, str] = {}

    class Collect:
        def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
            if report.when == "call" and report.failed:
                found[report.nodeid.split("::")[-1]] = _short_message(report)

    pytest.main([str(tmp_path), "-q", "-p", "no:cacheprovider", "-p", "no:nbval"],
                plugins=[Collect()])
    return found


def test_the_graders_words_without_the_diff(tmp_path: Path) -> None:
    messages = _messages(tmp_path)
    assert messages["test_states"] == (
        "AssertionError: the job is still running: acknowledge late"
    )
    assert messages["test_bare"].startswith("assert 3 <= 2")
