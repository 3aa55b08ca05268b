"""Measure pages and code the same way everywhere: notebooks, graders and ``course bench``.

Django must already be set up by the caller (``course.setup_django()`` in a
notebook); this module never calls ``django.setup()`` and imports matplotlib
only when a chart is drawn.

What a measurement means:

* **queries** — statements sent to any configured database while the page is
  served once, leaving out transaction control (``BEGIN``, ``COMMIT``,
  ``SAVEPOINT``, ``RELEASE SAVEPOINT``, ``ROLLBACK TO SAVEPOINT`` …): the same
  code then counts the same whether or not it already runs inside a transaction;
* **time** — median and 95th percentile of ``repeat`` in-process requests made
  with Django's test client (no network, no web server), after ``warmup`` runs;
* **bytes** — size of the response body, streamed bodies included;
* **duplicate queries** — statements that repeat an earlier one once literals
  are replaced by ``?``: the signature of an N+1 loop.

Typical use::

    from course.measuring import measure
    pages = measure.measure_pages({"Products": "/products/", "Orders": "/orders/"})
    print(measure.table(pages))
    measure.bar_chart(pages, metric="queries")
"""

from __future__ import annotations

import html
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

__all__ = [
    "MeasureError",
    "PageMeasurement",
    "bar_chart",
    "compare",
    "environment_note",
    "figure",
    "frame",
    "html_table",
    "is_counted",
    "measure_pages",
    "measure_url",
    "normalise",
    "percentile",
    "queries_for",
    "repeated",
    "table",
    "time_callable",
]

Rows = Sequence["PageMeasurement"] | Sequence[Mapping[str, Any]]

_TRANSACTION_CONTROL = re.compile(
    r"^\s*(?:BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|START\s+TRANSACTION|END)\b",
    re.IGNORECASE,
)
_STRING = r"'(?:[^']|'')*'"
_NUMBER = r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b"
_LITERAL = re.compile(f"{_STRING}|{_NUMBER}")
_IN_LIST = re.compile(r"\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


class MeasureError(Exception):
    """A page could not be measured: it answered 5xx or raised while being served."""

    def __init__(self, url: str, status: int, reason: str) -> None:
        self.url = url
        self.status = status
        self.reason = reason
        super().__init__(f"{url} answered {status}: {reason}")


@dataclass(kw_only=True)
class PageMeasurement:
    """One page, measured: what it costs the database, the clock and the wire."""

    name: str
    url: str
    status: int
    queries: int
    sql: list[str] = field(default_factory=list, repr=False)
    median_ms: float
    p95_ms: float
    runs: int
    bytes: int
    duplicate_queries: int = 0
    top_repeated: tuple[str, int] | None = None


# --------------------------------------------------------------------------- SQL


def is_counted(sql: str) -> bool:
    """False for transaction control statements, which no code asked for as data."""
    return _TRANSACTION_CONTROL.match(sql) is None


def normalise(sql: str) -> str:
    """The SQL with literals as ``?`` and ``IN (…)`` lists collapsed, so repeats look alike."""
    shape = _LITERAL.sub("?", sql)
    shape = _IN_LIST.sub("IN (…)", shape)
    return _SPACES.sub(" ", shape).strip()


def repeated(statements: Iterable[str]) -> tuple[int, tuple[str, int] | None]:
    """How many statements repeat an earlier one (normalised), and the most repeated one."""
    counts = Counter(normalise(sql) for sql in statements)
    duplicates = sum(count - 1 for count in counts.values())
    most = counts.most_common(1)
    top = most[0] if most and most[0][1] > 1 else None
    return duplicates, top


@dataclass(frozen=True)
class Captured:
    """One statement as a database received it: raw SQL and parameters, and the SQL with
    the parameters filled in (as the debug log shows it)."""

    sql: str
    params: Any
    shown: str
    many: bool
    database: str


@contextmanager
def capturing(databases: Iterable[str] | None = None) -> Iterator[list[Captured]]:
    """Record every statement sent to ``databases`` (default: all) while the block runs.

    Execution wrappers see every statement, with no cap on how many (the
    debug query log keeps only the last 9,000) and whatever ``DEBUG`` says.
    """
    from django.db import connections

    statements: list[Captured] = []

    def recorder(alias: str) -> Callable[..., Any]:
        def record(execute: Callable[..., Any], sql: str, params: Any, many: bool,
                   context: Any) -> Any:
            try:
                return execute(sql, params, many, context)
            finally:
                shown = sql
                if not many:
                    try:
                        shown = context["connection"].ops.last_executed_query(
                            context["cursor"], sql, params
                        )
                    except Exception:  # noqa: BLE001 - fall back to the statement as written
                        shown = sql
                statements.append(Captured(sql, params, shown, many, alias))

        return record

    with ExitStack() as stack:
        for alias in (list(databases) if databases is not None else list(connections)):
            stack.enter_context(connections[alias].execute_wrapper(recorder(alias)))
        yield statements


def _counted_sql(captured: list[Captured]) -> list[str]:
    return [c.shown for c in captured if is_counted(c.sql)]


def counted(
    function: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> tuple[Any, int, list[str]]:
    """``function(*args, **kwargs)``'s result, how many queries it ran, and their SQL."""
    with capturing() as captured:
        result = function(*args, **kwargs)
    statements = _counted_sql(captured)
    return result, len(statements), statements


def queries_for(
    function: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> tuple[int, list[str]]:
    """How many queries ``function(*args, **kwargs)`` runs, and their SQL."""
    _, count, statements = counted(function, *args, **kwargs)
    return count, statements


# --------------------------------------------------------------------------- time


def percentile(values: Sequence[float], fraction: float) -> float:
    """Percentile by linear interpolation between the closest ranks (exact for tiny samples)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _samples_ms(function: Callable[[], Any], repeat: int, warmup: int) -> list[float]:
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def time_callable(
    function: Callable[[], Any], repeat: int = 7, warmup: int = 1
) -> dict[str, float]:
    """Median and p95 wall time of ``function()`` in milliseconds, after ``warmup`` calls."""
    samples = _samples_ms(function, repeat, warmup)
    return {
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(percentile(samples, 0.95), 3),
        "runs": repeat,
    }


# --------------------------------------------------------------------------- memory


def peak_memory(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> tuple[Any, int]:
    """``function(*args, **kwargs)``'s result and the peak of the Python memory it allocated.

    Measured with :mod:`tracemalloc` (bytes); objects that existed before the call do
    not count. Tracing makes the call several times slower, so time it separately.
    """
    import gc
    import tracemalloc

    if tracemalloc.is_tracing():
        raise RuntimeError("tracemalloc is already tracing: peak_memory() cannot nest")
    gc.collect()
    tracemalloc.start()
    try:
        result = function(*args, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def body_pieces(response: Any) -> Iterable[bytes]:
    """A response's body as it arrives: the pieces of a streamed body, or the whole content."""
    if getattr(response, "streaming", False):
        return response.streaming_content
    return [response.content]


# --------------------------------------------------------------------------- pages


def _short_reason(response: Any) -> str:
    """A one-line reason for an error response: its title, or the start of its text."""
    phrase = getattr(response, "reason_phrase", "") or "server error"
    if getattr(response, "streaming", False):
        return phrase
    body = response.content.decode(getattr(response, "charset", None) or "utf-8", "replace")
    title = re.search(r"<title[^>]*>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
    text = title.group(1) if title else re.sub(r"<[^>]+>", " ", body)
    text = _SPACES.sub(" ", html.unescape(text)).strip()
    if len(text) > 120:
        text = text[:119] + "…"
    return f"{phrase} — {text}" if text else phrase


def _body_size(response: Any) -> int:
    """Bytes in the body; a streamed body is read to the end (its queries run meanwhile)."""
    return sum(len(piece) for piece in body_pieces(response))


def _fetcher(
    url: str,
    method: str,
    data: Mapping[str, Any] | None,
    client: Any,
    headers: Mapping[str, str] | None,
) -> Callable[[], tuple[int, int]]:
    """A function making one request and returning ``(status, body bytes)``; raises on 5xx."""
    send = getattr(client, method.lower())

    def fetch() -> tuple[int, int]:
        try:
            response = send(url, data=data, headers=headers)
            size = _body_size(response)
        except Exception as error:  # the test client re-raises what the view raised
            raise MeasureError(url, 500, f"{type(error).__name__}: {error}") from error
        if response.status_code >= 500:
            raise MeasureError(url, response.status_code, _short_reason(response))
        return response.status_code, size

    return fetch


def measure_url(
    url: str,
    *,
    name: str | None = None,
    method: str = "get",
    data: Mapping[str, Any] | None = None,
    repeat: int = 3,
    warmup: int = 1,
    client: Any = None,
    headers: Mapping[str, str] | None = None,
) -> PageMeasurement:
    """Measure one URL: warm up, count queries on one run, then time ``repeat`` runs.

    Raises :class:`MeasureError` if the page answers 5xx or raises.
    """
    if client is None:
        from django.test import Client

        client = Client()
    fetch = _fetcher(url, method, data, client, headers)
    for _ in range(warmup):
        fetch()
    with capturing() as captured:
        status, size = fetch()
    statements = _counted_sql(captured)
    timing = time_callable(fetch, repeat=repeat, warmup=0)
    duplicates, top = repeated(statements)
    return PageMeasurement(
        name=name or url,
        url=url,
        status=status,
        queries=len(statements),
        sql=statements,
        median_ms=timing["median_ms"],
        p95_ms=timing["p95_ms"],
        runs=repeat,
        bytes=size,
        duplicate_queries=duplicates,
        top_repeated=top,
    )


def _progress(total: int) -> Any:
    """A progress bar on a terminal (rich); elsewhere (a notebook, a log) a line per page."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        return None
    return Progress(TextColumn("measuring {task.description}"), BarColumn(),
                    MofNCompleteColumn(), console=console, transient=True)


def measure_pages(
    pages: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    progress: bool = True,
    progress_to: Any = None,
    **options: Any,
) -> list[PageMeasurement]:
    """Measure named pages (``{name: url}`` or ``[(name, url), …]``) with :func:`measure_url`.

    ``options`` go to :func:`measure_url`. Progress is a bar in a terminal, else a line per
    page on stdout (in a notebook, stderr reads as an error) or on ``progress_to``;
    ``progress=False`` for none.
    """
    items = list(pages.items() if isinstance(pages, Mapping) else pages)
    bar = _progress(len(items)) if progress and progress_to is None else None
    out = progress_to or sys.stdout
    started = time.perf_counter()
    results: list[PageMeasurement] = []
    if bar is None:
        for index, (name, url) in enumerate(items, start=1):
            if progress:
                print(f"[{index}/{len(items)}] {name}", file=out, flush=True)
            results.append(measure_url(url, name=name, **options))
    else:
        with bar:
            task = bar.add_task("", total=len(items))
            for name, url in items:
                bar.update(task, description=name)
                results.append(measure_url(url, name=name, **options))
                bar.advance(task)
    if progress:
        print(f"measured {len(results)} page(s) in {time.perf_counter() - started:.1f} s",
              file=out, flush=True)
    return results


# --------------------------------------------------------------------------- comparing


class Comparison(list):
    """Rows of two runs side by side (``queries_before``/``queries_after`` …), with the names
    tables and charts show for the two sides: ("before", "after"), or ("yours",
    "reference") when your project is measured against the reference."""

    def __init__(self, rows: Iterable[dict[str, Any]] = (),
                 sides: tuple[str, str] = ("before", "after")) -> None:
        super().__init__(rows)
        self.sides = sides


def compare(
    before: Sequence[PageMeasurement], after: Sequence[PageMeasurement],
    sides: tuple[str, str] = ("before", "after"),
) -> Comparison:
    """Join two runs by page name; ``speedup`` is the first side's median over the
    second's. ``sides`` names the two runs in tables and charts."""
    later = {m.name: m for m in after}
    rows = Comparison(sides=sides)
    for old in before:
        new = later.get(old.name)
        if new is None:
            continue
        speedup = round(old.median_ms / new.median_ms, 2) if new.median_ms > 0 else None
        rows.append({
            "name": old.name,
            "queries_before": old.queries,
            "queries_after": new.queries,
            "median_ms_before": old.median_ms,
            "median_ms_after": new.median_ms,
            "kib_before": round(old.bytes / 1024, 1),
            "kib_after": round(new.bytes / 1024, 1),
            "speedup": speedup,
        })
    return rows


# --------------------------------------------------------------------------- context


def environment_note() -> str:
    """Where the numbers were measured, in one line: Python, Django, database, CPUs."""
    import django
    from django.conf import settings
    from django.db import connection

    database = getattr(connection, "display_name", connection.vendor)
    note = (
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"{database} database, {os.cpu_count() or '?'} CPU(s), "
        f"{platform.system()} {platform.machine()}".rstrip()
    )
    if settings.DEBUG:
        note += ", DEBUG on (slower)"
    return note


# Tables and charts live in their own modules; notebooks reach them through `measure`.
from course.measuring.charts import bar_chart, figure  # noqa: E402
from course.measuring.tables import frame, html_table, table  # noqa: E402
