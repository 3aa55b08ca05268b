"""Measure pages and code the same way everywhere: notebooks, graders and the CLI.

Django must already be set up (``course.setup_django()`` in a notebook).
Queries are counted on every database connection, leaving out transaction
control (``SAVEPOINT`` …); times are medians of repeated in-process requests
through Django's test client, so the network is not in the way.
"""

from __future__ import annotations

import platform
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")


class MeasureError(Exception):
    """A page could not be measured (for example it answered 500)."""


@dataclass
class PageMeasurement:
    name: str
    url: str
    status: int
    queries: int
    median_ms: float
    p95_ms: float
    runs: int
    bytes: int
    duplicate_queries: int = 0
    top_repeated: tuple[str, int] | None = None
    sql: list[str] = field(default_factory=list, repr=False)


def is_counted(sql: str) -> bool:
    """False for transaction control statements, which are not queries code asked for."""
    return not sql.lstrip().upper().startswith(TRANSACTION_CONTROL)


def normalise(sql: str) -> str:
    """The SQL with literals replaced by ``?``, so repeats of one query look the same."""
    return _LITERALS.sub("?", sql)


def _repeats(statements: list[str]) -> tuple[int, tuple[str, int] | None]:
    counts = Counter(normalise(sql) for sql in statements)
    duplicates = sum(count - 1 for count in counts.values() if count > 1)
    top = counts.most_common(1)
    return duplicates, (top[0] if top and top[0][1] > 1 else None)


def capture(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Run ``function`` and return its result and the SQL it ran on every connection.

    Uses execution wrappers rather than ``connection.queries``, so there is no
    cap on how many statements are recorded and ``DEBUG`` does not matter.
    """
    from django.db import connections

    statements: list[str] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        statements.append(sql)
        return execute(sql, params, many, context)

    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(record))
        result = function(*args, **kwargs)
    return result, [sql for sql in statements if is_counted(sql)]


def queries_for(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, list[str]]:
    """How many queries ``function(*args, **kwargs)`` runs, and their SQL."""
    _, statements = capture(function, *args, **kwargs)
    return len(statements), statements


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def time_callable(
    function: Callable[[], Any], *, repeat: int = 7, warmup: int = 1
) -> dict[str, float]:
    """Median and p95 wall time of ``function()`` in milliseconds."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": statistics.median(samples),
        "p95_ms": _percentile(samples, 0.95),
        "runs": repeat,
    }


def _body_size(response: Any) -> int:
    if getattr(response, "streaming", False):
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def measure_url(
    url: str,
    *,
    name: str | None = None,
    method: str = "get",
    data: Mapping[str, Any] | None = None,
    repeat: int = 3,
    warmup: int = 0,
    client: Any = None,
    headers: Mapping[str, str] | None = None,
) -> PageMeasurement:
    """Queries (one counted run), median/p95 time (``repeat`` runs) and size of one URL.

    The counted run also warms caches and imports, so ``warmup`` defaults to 0.
    """
    from django.test import Client

    client = client or Client()
    send = getattr(client, method.lower())

    def request() -> tuple[Any, int]:
        response = send(url, data=data, headers=headers)
        return response, _body_size(response)  # streaming bodies are consumed while timed

    (response, size), statements = capture(request)
    if response.status_code >= 500:
        raise MeasureError(f"{url} answered {response.status_code}")
    timing = time_callable(request, repeat=repeat, warmup=warmup)
    duplicates, top = _repeats(statements)
    return PageMeasurement(
        name=name or url,
        url=url,
        status=response.status_code,
        queries=len(statements),
        median_ms=round(timing["median_ms"], 2),
        p95_ms=round(timing["p95_ms"], 2),
        runs=repeat,
        bytes=size,
        duplicate_queries=duplicates,
        top_repeated=top,
        sql=statements,
    )


def measure_pages(
    pages: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    progress: bool = True,
    **options: Any,
) -> list[PageMeasurement]:
    """Measure several named pages; shows one progress line per page on stderr."""
    items = list(pages.items() if isinstance(pages, Mapping) else pages)
    results = []
    for index, (name, url) in enumerate(items, start=1):
        if progress:
            print(f"\r[{index}/{len(items)}] measuring {name} …".ljust(60), end="",
                  file=sys.stderr, flush=True)
        results.append(measure_url(url, name=name, **options))
    if progress:
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)
    return results


def compare(
    before: list[PageMeasurement], after: list[PageMeasurement]
) -> list[dict[str, Any]]:
    """Join two runs by page name; ``speedup`` is the ratio of medians."""
    later = {m.name: m for m in after}
    rows = []
    for old in before:
        new = later.get(old.name)
        if new is None:
            continue
        rows.append({
            "name": old.name,
            "queries_before": old.queries,
            "queries_after": new.queries,
            "median_ms_before": old.median_ms,
            "median_ms_after": new.median_ms,
            "speedup": round(old.median_ms / new.median_ms, 1) if new.median_ms else None,
        })
    return rows


def _rows(data: list[PageMeasurement] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if data and isinstance(data[0], PageMeasurement):
        return [
            {"page": m.name, "status": m.status, "queries": m.queries,
             "repeated": m.duplicate_queries, "median ms": m.median_ms, "p95 ms": m.p95_ms,
             "KiB": round(m.bytes / 1024, 1)}
            for m in data  # type: ignore[union-attr]
        ]
    return [dict(row) for row in data]  # type: ignore[arg-type]


def table(data: list[PageMeasurement] | list[dict[str, Any]]) -> str:
    """A plain aligned text table."""
    rows = _rows(data)
    if not rows:
        return "(nothing measured)"
    columns = list(rows[0])
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(
            v.rjust(w) if v.replace(".", "", 1).isdigit() else v.ljust(w)
            for v, w in zip(row, widths)
        ))
    return "\n".join(lines)


class HtmlTable:
    """A table that renders as HTML in a notebook and as text elsewhere."""

    def __init__(self, data: list[PageMeasurement] | list[dict[str, Any]]) -> None:
        self.rows = _rows(data)

    def _repr_html_(self) -> str:
        import html

        if not self.rows:
            return "<p>(nothing measured)</p>"
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.rows[0])
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>"
            for row in self.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __repr__(self) -> str:
        return table(self.rows)


def html_table(data: list[PageMeasurement] | list[dict[str, Any]]) -> HtmlTable:
    return HtmlTable(data)


def bar_chart(
    data: list[PageMeasurement] | list[dict[str, Any]],
    metric: str = "median_ms",
    *,
    title: str = "",
    log: bool = False,
) -> Any:
    """A matplotlib Figure: one bar per page, or before/after pairs with their ratio."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4))
    axes = figure.subplots()
    if data and isinstance(data[0], dict) and f"{metric}_before" in data[0]:
        rows: list[dict[str, Any]] = data  # type: ignore[assignment]
        names = [row["name"] for row in rows]
        positions = range(len(rows))
        before = [row[f"{metric}_before"] for row in rows]
        after = [row[f"{metric}_after"] for row in rows]
        axes.bar([p - 0.2 for p in positions], before, width=0.4, label="before")
        axes.bar([p + 0.2 for p in positions], after, width=0.4, label="after")
        for p, old, new in zip(positions, before, after):
            if new:
                axes.annotate(f"{old / new:.1f}×", (p, max(old, new)), ha="center",
                              va="bottom", fontsize=9)
        axes.legend()
    else:
        measurements: list[PageMeasurement] = data  # type: ignore[assignment]
        names = [m.name for m in measurements]
        values = [getattr(m, metric) for m in measurements]
        bars = axes.bar(range(len(values)), values, color="#4472c4")
        axes.bar_label(bars, labels=[f"{v:g}" for v in values], fontsize=8)
    axes.set_xticks(range(len(names)))
    axes.set_xticklabels(names, rotation=30, ha="right")
    axes.set_ylabel(metric.replace("_", " "))
    if log:
        axes.set_yscale("log")
    axes.set_title(title or metric.replace("_", " "))
    figure.tight_layout()
    return figure


def environment_note() -> str:
    """Where these numbers were measured, in one line."""
    import os

    import django
    from django.db import connection

    return (
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"{connection.vendor} database, {os.cpu_count()} CPU(s), {platform.system()}"
    )
