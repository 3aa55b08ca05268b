"""A pytest plugin the grader loads: records each test's outcome and measurements as JSON.

Tests report what they measured with the ``measured`` fixture::

    def test_order_list(measured):
        queries = ...
        measured(queries, target=3, unit="queries")
        assert queries <= 3

The JSON file (path in ``COURSE_RESULTS``) maps node ids to
``{"outcome", "message", "measured", "duration"}``. It is rewritten after every test, so
what was graded survives the process being killed.

Time limits are enforced from outside (``course.grading.watchdog``): the plugin writes the
test that is running to ``COURSE_RESULTS + ".running"`` and arms :mod:`faulthandler` to
dump every thread's stack into ``COURSE_RESULTS + ".stacks"`` just before the limit, so the
grader can say where a stuck test was even when the learner's code swallowed every
exception (``except:`` around a busy loop defeats any in-process timeout).
"""

from __future__ import annotations

import faulthandler
import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from course.grading.watchdog import LIMITS_VARIABLE, limit_in, stuck_at

_results: dict[str, dict[str, Any]] = {}
_stacks: Any = None  # the open file faulthandler writes to


def _results_path() -> str | None:
    return os.environ.get("COURSE_RESULTS")


def _write_atomically(path: str, text: str) -> None:
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)


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


def _limit_for(nodeid: str) -> float:
    """Seconds the test may take: its own limit if it has one, else the check's (0: none)."""
    try:
        longer = json.loads(os.environ.get(LIMITS_VARIABLE) or "{}")
    except ValueError:
        longer = {}
    return float(limit_in(longer, nodeid) or os.environ.get("COURSE_TIME_LIMIT") or 0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test with a limit of its own gets it from pytest-timeout too."""
    if not os.environ.get(LIMITS_VARIABLE):
        return
    for item in items:
        limit = _limit_for(item.nodeid)
        if limit and limit != float(os.environ.get("COURSE_TIME_LIMIT") or 0):
            item.add_marker(pytest.mark.timeout(limit))


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    global _stacks
    path = _results_path()
    if not path:
        return
    _write_atomically(f"{path}.running", json.dumps({"nodeid": nodeid, "started": time.time()}))
    limit = _limit_for(nodeid)
    if limit:
        if _stacks is None:
            _stacks = open(f"{path}.stacks", "w", encoding="utf-8")  # noqa: SIM115 (kept open)
        _stacks.seek(0)
        _stacks.truncate()
        faulthandler.dump_traceback_later(max(1.0, limit - 1), file=_stacks)


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    path = _results_path()
    if not path:
        return
    faulthandler.cancel_dump_traceback_later()
    entry = _results.get(nodeid)
    if entry and entry["outcome"] == "timeout" and _stacks is not None:
        _stacks.flush()
        with open(f"{path}.stacks", encoding="utf-8") as dumped:
            where = stuck_at(dumped.read(), os.environ.get("COURSE_TARGET_DIR", ""))
        if where:
            entry["message"] += f" (still running {where})"
    _write_atomically(path, json.dumps(_results, indent=1, default=str))
    if os.path.exists(f"{path}.running"):
        os.remove(f"{path}.running")



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
            limit = _limit_for(report.nodeid)
            entry["message"] = f"timed out after {limit:.0f} s" if limit else "timed out"


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _results[f"collect::{report.nodeid}"] = {
            "outcome": "error",
            "message": _short_message(report) or str(report.longrepr).strip().splitlines()[-1],
            "measured": [],
            "duration": 0.0,
        }


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = _results_path()
    if path:
        _write_atomically(path, json.dumps(_results, indent=1, default=str))
