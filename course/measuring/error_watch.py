"""What reaches the error tracker, and what reporting to it costs (chapter 10)::

    from course import error_watch
    with error_watch.with_a_broken_page(reference) as broken:  # a bug put in, in a copy
        visits = error_watch.visit(broken, paths)               # served, each path asked once
    rows = error_watch.issues_of(visits)                        # what the tracker made of them

``with_a_broken_page`` copies a project state and ships it a bug: its product page divides
by the number of reviews, so every product without one answers 500. ``visit`` serves a state
from its Procfile with the tracker's ``SENTRY_DSN`` and asks each path once, keeping each
answer's status, request id and the server's log lines for that id; ``issues_of`` finds each
failed request's event in the tracker (Bugsink, through its API) by its ``request_id`` tag,
and says what the event carries. ``sdk_cost`` serves a state twice side by side, reporting
and not, and loads the same page on each in pairs.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from course.measuring import metrics_watch, visits
from course.services.plugins import errortracker

BUG_FILE = "shop/views/product_detail.py"
BUG_AFTER = '.select_related("customer").order_by("-created_at")\n'
BUG = ('    # Shipped on a Friday: the share of five-star reviews, for a badge.\n'
       '    five_star_share = reviews.filter(rating=5).count() / reviews.count()  # noqa: F841\n')
ARRIVES_WITHIN = 15.0  # seconds


class ErrorWatchError(Exception):
    """The tracker is not running, or a state has no page to break: one line for humans."""


def tracker() -> tuple[str, int, int]:
    """The course's error tracker: its DSN, port and project number, once it runs."""
    from course import envfile
    dsn = envfile.read().get("SENTRY_DSN", "")
    if not dsn:
        raise ErrorWatchError("the error tracker is not running: "
                              "`python3 -m course services up errortracker`")
    return (dsn, *errortracker.address(dsn))


@contextmanager
def with_a_broken_page(target: Path) -> Iterator[Path]:
    """A copy of ``target`` whose product page fails (ZeroDivisionError) for every product
    without a review: the folder, removed afterwards."""
    view = Path(target) / BUG_FILE
    source = view.read_text(encoding="utf-8")
    if BUG_AFTER not in source:
        raise ErrorWatchError(f"{view} does not build its reviews as the course's shop does: "
                              "there is no place to put the bug")
    with tempfile.TemporaryDirectory(prefix="course-broken-page-") as scratch:
        copy = Path(scratch) / "project"
        shutil.copytree(target, copy, ignore=shutil.ignore_patterns(
            "__pycache__", "static_root", "*.sqlite3"))
        (copy / BUG_FILE).write_text(source.replace(BUG_AFTER, BUG_AFTER + BUG, 1),
                                     encoding="utf-8")
        yield copy


def visit(target: Path, paths: list[str]) -> list[dict[str, Any]]:
    """``target`` served from its Procfile, reporting to the course's tracker; each of
    ``paths`` asked once: its status, its request id, and the server's lines with that id."""
    dsn, _, _ = tracker()
    answers = []
    with metrics_watch.serving(target, workers=2, extra_env={"SENTRY_DSN": dsn}) as base:
        for path in paths:
            page = visits.fetch(base + path, timeout=30)
            answers.append({"path": path, "status": page.status,
                            "request_id": page.header("X-Request-ID") or ""})
        time.sleep(0.5)  # the last lines and events leave their processes
        lines = metrics_watch.json_lines(base)
    for answer in answers:
        answer["log_lines"] = [line for line in lines
                               if answer["request_id"] and
                               line.get("request_id") == answer["request_id"]]
    return answers


def _title(data: dict[str, Any]) -> str:
    values = (data.get("exception") or {}).get("values") or []
    if values:
        return f"{values[-1].get('type')}: {values[-1].get('value')}"
    return str((data.get("logentry") or {}).get("formatted") or data.get("message") or "")


def events_of(request_ids: list[str], *, within: float = ARRIVES_WITHIN
              ) -> dict[str, list[dict[str, Any]]]:
    """The tracker's events tagged with each of ``request_ids``, waiting up to ``within``
    seconds for the last to arrive."""
    _, port, project = tracker()
    found: dict[str, list[dict[str, Any]]] = {}
    deadline = time.monotonic() + within
    for request_id in request_ids:
        while True:
            found[request_id] = errortracker.search(port, project, f"request_id:{request_id}")
            if found[request_id] or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    return found


def issues_of(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each answer that failed (5xx): the event the tracker has for its request id, the
    issue it was grouped into, and what it carries."""
    failed = [answer for answer in answers if answer["status"] >= 500]
    events = events_of([answer["request_id"] for answer in failed])
    rows = []
    for answer in failed:
        for event in events[answer["request_id"]][:1] or [{}]:
            data = event.get("data", {})
            request = data.get("request") or {}
            rows.append({
                "path": answer["path"], "request_id": answer["request_id"],
                "issue": event.get("issue", "(no event)"),
                "title": _title(data)[:70],
                "tags": ", ".join(f"{key}={value}"
                                  for key, value in sorted(errortracker.tags(event).items())),
                "breadcrumbs": len((data.get("breadcrumbs") or {}).get("values") or []),
                "user": bool(data.get("user")),
                "cookies": bool(request.get("cookies")),
                "request_body": bool(request.get("data")),
                "local_variables": any(frame.get("vars") for value in (
                    (data.get("exception") or {}).get("values") or [])
                    for frame in (value.get("stacktrace") or {}).get("frames") or []),
            })
    return rows


def issue_counts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of :func:`issues_of` by issue: how many of this run's failures each holds."""
    counts: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = counts.setdefault(row["issue"], {"issue": row["issue"], "title": row["title"],
                                                 "failed_requests": 0})
        entry["failed_requests"] += 1
    return list(counts.values())


def sdk_cost(target: Path, path: str = "/products/", *, pairs: int = 3, users: int = 16,
             seconds: int = 3, workers: int = 2) -> dict[str, Any]:
    """``path`` served by ``target`` twice side by side, reporting to the tracker and not
    (``SENTRY_DSN`` empty), loaded in pairs: the medians of each and of the pairs' ratios."""
    from course.measuring import floor

    dsn, _, _ = tracker()
    with metrics_watch.serving(target, workers=workers, extra_env={"SENTRY_DSN": dsn}) as on, \
            metrics_watch.serving(target, workers=workers, extra_env={"SENTRY_DSN": ""}) as off:
        found = floor.in_pairs({"on": (on, path), "off": (off, path)}, pairs, users=users,
                               seconds=seconds)
    compared = floor.paired(found["on"], found["off"])
    return {"name": f"{path}: reporting to the tracker, against not",
            "reporting_req_per_s": compared["page_req_per_s"],
            "silent_req_per_s": compared["floor_req_per_s"],
            "reporting_vs_silent": compared["vs_floor"]}
