"""A pytest plugin the grader loads: records each test's outcome and measurements as JSON.

Tests report what they measured with the ``measured`` fixture::

    def test_order_list(measured):
        queries = ...
        measured(queries, target=3, unit="queries")
        assert queries <= 3

The JSON file (path in ``COURSE_RESULTS``) maps node ids to
``{"outcome", "message", "measured", "duration"}``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest

_results: dict[str, dict[str, Any]] = {}


@pytest.fixture
def measured(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Record a measured value against its target for the learner's report."""

    def record(value: Any, target: Any = None, unit: str = "") -> None:
        request.node.user_properties.append(
            ("measured", {"value": value, "target": target, "unit": unit})
        )

    return record


def _short_message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        # The grader's own words come first; pytest's explanation (the compared values, their
        # diff, "where …") starts at the first "assert " line and is left out.
        lines = str(crash.message).splitlines()
        kept: list[str] = []
        for line in lines:
            if line.lstrip().startswith("assert "):
                break
            kept.append(line)
        return "\n".join(kept or lines[:1]).strip()
    if isinstance(longrepr, tuple):  # skipped: (path, line, reason)
        return str(longrepr[-1])
    return str(longrepr or "").strip().splitlines()[-1:][0] if longrepr else ""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _results.setdefault(
        report.nodeid, {"outcome": "passed", "message": "", "measured": [], "duration": 0.0}
    )
    entry["duration"] += report.duration
    for name, value in report.user_properties:
        if name == "measured" and value not in entry["measured"]:
            entry["measured"].append(value)
    if report.failed or (report.skipped and entry["outcome"] == "passed"):
        entry["outcome"] = "failed" if report.failed else "skipped"
        entry["message"] = _short_message(report)
        if report.failed and "Timeout" in entry["message"]:
            entry["outcome"] = "timeout"


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _results[f"collect::{report.nodeid}"] = {
            "outcome": "error",
            "message": _short_message(report) or str(report.longrepr).strip().splitlines()[-1],
            "measured": [],
            "duration": 0.0,
        }


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("COURSE_RESULTS")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(_results, handle, indent=1, default=str)
