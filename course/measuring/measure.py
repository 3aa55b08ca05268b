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
import io
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
    from matplotlib.figure import Figure

__all__ = [
    "MeasureError",
    "PageMeasurement",
    "bar_chart",
    "compare",
    "environment_note",
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


class _TextProgress:
    """One self-overwriting progress line on stderr."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.perf_counter()

    def show(self, index: int, name: str) -> None:
        line = f"[{index}/{self.total}] measuring {name} …"
        print(f"\r{line[:78]:<78}", end="", file=sys.stderr, flush=True)

    def close(self, done: int) -> None:
        seconds = time.perf_counter() - self.started
        line = f"measured {done}/{self.total} page(s) in {seconds:.1f} s"
        print(f"\r{line:<78}", file=sys.stderr, flush=True)


def _tqdm(total: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="measuring", unit="page", file=sys.stderr, leave=False)


def measure_pages(
    pages: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    progress: bool = True,
    **options: Any,
) -> list[PageMeasurement]:
    """Measure named pages (``{name: url}`` or ``[(name, url), …]``) with :func:`measure_url`.

    ``options`` go to :func:`measure_url`. Progress is shown on stderr (with
    ``tqdm`` when it is installed) unless ``progress=False``.
    """
    items = list(pages.items() if isinstance(pages, Mapping) else pages)
    bar = _tqdm(len(items)) if progress else None
    text = _TextProgress(len(items)) if progress and bar is None else None
    results: list[PageMeasurement] = []
    try:
        for index, (name, url) in enumerate(items, start=1):
            if bar is not None:
                bar.set_postfix_str(name)
            if text is not None:
                text.show(index, name)
            results.append(measure_url(url, name=name, **options))
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
        if text is not None:
            text.close(len(results))
    return results


# --------------------------------------------------------------------------- comparing


def compare(
    before: Sequence[PageMeasurement], after: Sequence[PageMeasurement]
) -> list[dict[str, Any]]:
    """Join two runs by page name; ``speedup`` is the before/after ratio of the medians."""
    later = {m.name: m for m in after}
    rows = []
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


# --------------------------------------------------------------------------- tables

_LABELS = {
    "name": "page",
    "queries_before": "queries before",
    "queries_after": "queries after",
    "median_ms_before": "median ms before",
    "median_ms_after": "median ms after",
    "kib_before": "KiB before",
    "kib_after": "KiB after",
}


def _cell(key: str, value: Any) -> tuple[str, bool]:
    """Display text of one value, and whether it is a number (aligned right)."""
    if value is None:
        return "–", True
    if isinstance(value, bool):
        return str(value), False
    if key == "speedup" and isinstance(value, (int, float)):
        return f"{value:.2f}×", True
    if key == "KiB" and isinstance(value, float):
        return f"{value:.1f}", True
    if isinstance(value, float):
        return (f"{value:.1f}" if abs(value) >= 100 else f"{value:.2f}"), True
    if isinstance(value, int):
        return str(value), True
    if isinstance(value, tuple):
        return " × ".join(str(part) for part in value), False
    return str(value), False


def _measurement_row(m: PageMeasurement) -> dict[str, Any]:
    return {
        "page": m.name,
        "status": m.status,
        "queries": m.queries,
        "repeated": m.duplicate_queries,
        "median ms": m.median_ms,
        "p95 ms": m.p95_ms,
        "KiB": round(m.bytes / 1024, 1),
    }


def _grid(data: Rows) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Column headings and display cells for measurements, comparison rows or any dicts."""
    rows: list[Mapping[str, Any]] = [
        _measurement_row(item) if isinstance(item, PageMeasurement) else item for item in data
    ]
    keys: list[str] = []
    for row in rows:
        keys.extend(key for key in row if key not in keys)
    headings = [_LABELS.get(key, key.replace("_", " ")) for key in keys]
    cells = [[_cell(key, row.get(key)) if key in row else ("", False) for key in keys]
             for row in rows]
    return headings, cells


def table(data: Rows) -> str:
    """A plain text table with aligned columns (numbers to the right), for the terminal."""
    headings, cells = _grid(data)
    if not cells:
        return "(nothing measured)"
    widths = [max(len(h), *(len(row[i][0]) for row in cells)) for i, h in enumerate(headings)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headings, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        line = "  ".join(
            text.rjust(w) if number else text.ljust(w)
            for (text, number), w in zip(row, widths, strict=True)
        )
        lines.append(line.rstrip())
    return "\n".join(lines)


class HtmlTable:
    """A table that renders as HTML in a notebook and as aligned text anywhere else."""

    def __init__(self, data: Rows, caption: str | None = None) -> None:
        self.headings, self.cells = _grid(data)
        self.caption = caption
        self.text = table(data)

    def _repr_html_(self) -> str:
        if not self.cells:
            return "<p><em>(nothing measured)</em></p>"
        pad = "padding:3px 10px"
        numbers = self.cells[0]

        def align(index: int) -> str:
            return "right" if numbers[index][1] else "left"

        head = "".join(
            f'<th style="text-align:{align(i)};{pad};border-bottom:1px solid #888">'
            f"{html.escape(h)}</th>"
            for i, h in enumerate(self.headings)
        )
        body = "".join(
            "<tr>" + "".join(
                f'<td style="text-align:{"right" if number else "left"};{pad}">'
                f"{html.escape(text)}</td>"
                for text, number in row
            ) + "</tr>"
            for row in self.cells
        )
        caption = (
            f'<caption style="caption-side:bottom;color:#666;font-size:85%">'
            f"{html.escape(self.caption)}</caption>"
            if self.caption else ""
        )
        return (
            '<table style="border-collapse:collapse;font-variant-numeric:tabular-nums">'
            f"{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    def __str__(self) -> str:
        return self.text if not self.caption else f"{self.text}\n{self.caption}"

    __repr__ = __str__


def html_table(data: Rows, caption: str | None = None) -> HtmlTable:
    """The table for a notebook cell; ``caption`` (e.g. :func:`environment_note`) goes below."""
    return HtmlTable(data, caption)


# --------------------------------------------------------------------------- charts

_METRIC_LABELS = {
    "median_ms": "median time (ms)",
    "p95_ms": "p95 time (ms)",
    "queries": "SQL queries",
    "bytes": "response size (bytes)",
    "duplicate_queries": "repeated queries",
    "peak_mib": "peak memory (MiB)",
    "kib": "response size (KiB)",
    "req_per_s": "requests per second",
}
_COLOUR = "#3b6fb6"
_BEFORE_COLOUR = "#b8c0cc"


def _name(item: PageMeasurement | Mapping[str, Any]) -> str:
    if isinstance(item, PageMeasurement):
        return item.name
    return str(item.get("name", item.get("page", "?")))


def _value(item: PageMeasurement | Mapping[str, Any], metric: str) -> float:
    value = getattr(item, metric) if isinstance(item, PageMeasurement) else item[metric]
    return float(value or 0)


def _short_number(value: float) -> str:
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


_chart_class: type | None = None


def _figure_class() -> type:
    """A Figure that shows itself as a PNG in Jupyter, without pyplot or ``plt.show()``."""
    global _chart_class
    if _chart_class is None:
        from matplotlib.figure import Figure

        class ChartFigure(Figure):
            def _repr_png_(self) -> bytes:
                buffer = io.BytesIO()
                self.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
                return buffer.getvalue()

        _chart_class = ChartFigure
    return _chart_class


def figure(**kwargs: Any) -> Figure:
    """An empty figure that a notebook shows as an image (for charts of other shapes)."""
    return _figure_class()(**kwargs)


def _style(axes: Any, names: list[str], metric: str, title: str, log: bool, top: float) -> None:
    axes.set_xticks(range(len(names)))
    axes.set_xlim(-0.6, len(names) - 0.4)  # a lone page keeps slim bars
    long = len(names) > 6 or any(len(n) > 12 for n in names)
    axes.set_xticklabels(names, rotation=30 if long else 0, ha="right" if long else "center")
    axes.set_ylabel(_METRIC_LABELS.get(metric, metric.replace("_", " ")))
    axes.set_title(title or _METRIC_LABELS.get(metric, metric.replace("_", " ")))
    if log:
        axes.set_yscale("log")
        if top > 0:
            axes.set_ylim(top=top * 3)  # room for the labels above the bars
    else:
        axes.margins(y=0.15)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.yaxis.grid(True, color="#e3e3e3")
    axes.set_axisbelow(True)


def _is_comparison(data: Rows, metric: str) -> bool:
    first = data[0] if data else None
    return isinstance(first, Mapping) and f"{metric}_before" in first and f"{metric}_after" in first


def bar_chart(
    data: Rows,
    metric: str = "median_ms",
    *,
    title: str = "",
    log: bool = False,
) -> Figure:
    """A bar per page for ``metric``; for :func:`compare` rows, before/after pairs with ratios.

    Returns a matplotlib Figure (no pyplot involved); a notebook shows it as an image.
    """
    items = list(data)
    width = min(16.0, max(6.0, 1.0 * len(items) + 2.5))
    figure = _figure_class()(figsize=(width, 4.2))
    axes = figure.subplots()
    names = [_name(item) for item in items]
    if _is_comparison(items, metric):
        before = [_value(item, f"{metric}_before") for item in items]
        after = [_value(item, f"{metric}_after") for item in items]
        left = [i - 0.2 for i in range(len(items))]
        right = [i + 0.2 for i in range(len(items))]
        axes.bar(left, before, width=0.4, color=_BEFORE_COLOUR, label="before")
        axes.bar(right, after, width=0.4, color=_COLOUR, label="after")
        for i, (old, new) in enumerate(zip(before, after, strict=True)):
            label = f"{old / new:.1f}×" if new > 0 else ("" if old <= 0 else "→ 0")
            axes.annotate(label, (i, max(old, new)), xytext=(0, 3), textcoords="offset points",
                          ha="center", va="bottom", fontsize=9, fontweight="bold")
        axes.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        top = max([*before, *after], default=0.0)
    else:
        values = [_value(item, metric) for item in items]
        bars = axes.bar(range(len(values)), values, width=0.6, color=_COLOUR)
        axes.bar_label(bars, labels=[_short_number(v) for v in values], padding=2, fontsize=8)
        top = max(values, default=0.0)
    _style(axes, names, metric, title, log, top)
    figure.tight_layout()
    return figure


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
