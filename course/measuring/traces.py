"""Traces written as OTLP JSON lines, read back and drawn as a waterfall (chapter 10)::

    from course import traces
    with traces.serving(reference) as (base, folder):     # its Procfile, TRACES_DIR=folder
        answered = fetch(base + "/products/")
    found = traces.wait_for(folder, lambda spans: traces.server_span(spans, request_id))
    traces.waterfall(traces.trace_of(found, trace_id))

A project that follows exercise 10.8 writes its spans under ``TRACES_DIR``, one file per
process, each line one batch in OpenTelemetry's OTLP JSON encoding (what a Collector's file
exporter writes). :func:`read` flattens every batch into :class:`Span` rows: ids, parent,
name, kind, start and end, attributes, and the process's ``service.name``.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # OTLP's SpanKind numbers
KINDS = {0: "unspecified", 1: "internal", SERVER: "server", CLIENT: "client",
         PRODUCER: "producer", CONSUMER: "consumer"}


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    service: str
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


def _value(value: dict[str, Any]) -> Any:
    """An OTLP ``AnyValue`` ({"stringValue": …}, {"intValue": "3"} …) as plain Python."""
    if "arrayValue" in value:
        return [_value(item) for item in value["arrayValue"].get("values", [])]
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    return None


def _attributes(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {item["key"]: _value(item.get("value", {})) for item in items or []}


def _kind(kind: Any) -> int:
    if isinstance(kind, str):  # "SPAN_KIND_SERVER", as some encoders write it
        names = {f"SPAN_KIND_{name.upper()}": number for number, name in KINDS.items()}
        return names.get(kind, 0)
    return int(kind or 0)


def parse_line(line: str) -> list[Span]:
    """The spans of one OTLP JSON line (``{"resourceSpans": […]}``)."""
    spans = []
    for resource_spans in json.loads(line).get("resourceSpans", []):
        resource = _attributes(resource_spans.get("resource", {}).get("attributes"))
        for scope_spans in resource_spans.get("scopeSpans", []):
            for raw in scope_spans.get("spans", []):
                spans.append(Span(
                    trace_id=raw.get("traceId", ""), span_id=raw.get("spanId", ""),
                    parent_id=raw.get("parentSpanId", "") or "", name=raw.get("name", ""),
                    kind=_kind(raw.get("kind")), start_ns=int(raw.get("startTimeUnixNano", 0)),
                    end_ns=int(raw.get("endTimeUnixNano", 0)),
                    service=str(resource.get("service.name", "")),
                    attributes=_attributes(raw.get("attributes"))))
    return spans


def read(folder: Path) -> tuple[list[Span], list[str]]:
    """Every span written under ``folder`` (each file, each line), and the lines that were
    not OTLP JSON (``file: line``), which a reader must not hide."""
    spans: list[Span] = []
    broken: list[str] = []
    for path in sorted(Path(folder).glob("**/*")):
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                spans.extend(parse_line(line))
            except (ValueError, KeyError, TypeError, AttributeError):
                broken.append(f"{path.name}:{number}")
    return spans, broken


def wait_for(folder: Path, found: Callable[[list[Span]], Any], within: float = 12.0
             ) -> list[Span]:
    """The spans under ``folder`` once ``found(spans)`` is true, or after ``within`` seconds
    (span processors write in batches, a few seconds apart)."""
    deadline = time.monotonic() + within
    while True:
        spans, _ = read(folder)
        if found(spans) or time.monotonic() > deadline:
            return spans
        time.sleep(0.25)


def carries(span: Span, value: str) -> bool:
    """Whether one of the span's attributes has ``value`` (the request id, say)."""
    return any(found == value for found in span.attributes.values())


def server_span(spans: list[Span], request_id: str) -> Span | None:
    """The server span of the request whose id is ``request_id``."""
    return next((span for span in spans if span.kind == SERVER and carries(span, request_id)),
                None)


def trace_of(spans: list[Span], trace_id: str) -> list[Span]:
    """The spans of one trace, by start."""
    return sorted((span for span in spans if span.trace_id == trace_id),
                  key=lambda span: span.start_ns)


def descends_from(span: Span, ancestor: Span, spans: list[Span]) -> bool:
    """Whether ``ancestor`` is ``span``'s parent, or its parent's, and so on."""
    by_id = {item.span_id: item for item in spans if item.trace_id == span.trace_id}
    seen: set[str] = set()
    current = span
    while current.parent_id and current.parent_id not in seen:
        if current.parent_id == ancestor.span_id:
            return True
        seen.add(current.parent_id)
        parent = by_id.get(current.parent_id)
        if parent is None:
            return False
        current = parent
    return False


def depth(span: Span, spans: list[Span]) -> int:
    by_id = {item.span_id: item for item in spans}
    levels, current = 0, span
    while current.parent_id in by_id and levels < 50:
        current, levels = by_id[current.parent_id], levels + 1
    return levels


FROM_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?([\w.]+)"?', re.IGNORECASE)


def label(span: Span) -> str:
    """What a span did, short: a statement's verb and first table, a command, a route."""
    statement = str(span.attributes.get("db.statement") or "")
    if statement and span.attributes.get("db.system") != "redis":
        table = FROM_TABLE.search(statement)
        return f"{statement.split(None, 1)[0]} {table.group(1) if table else ''}".strip()
    return statement or span.name


def rows(trace: list[Span]) -> list[dict[str, Any]]:
    """A trace as a table: each span's offset from the first, its time, kind and what it did."""
    if not trace:
        return []
    origin = min(span.start_ns for span in trace)
    return [{"span": ("  " * depth(span, trace)) + span.name[:60],
             "service": span.service, "kind": KINDS.get(span.kind, str(span.kind)),
             "starts_at_ms": round((span.start_ns - origin) / 1e6, 2),
             "ms": round(span.ms, 2),
             "detail": str(span.attributes.get("db.statement")
                           or span.attributes.get("http.route") or "")[:70]}
            for span in trace]


def waterfall(trace: list[Span], title: str = "", limit: int = 60) -> Any:
    """One trace as a waterfall: a bar per span (the first ``limit``), from its start to its
    end, children below their parents, coloured by the process that made it."""
    from course.measuring import charts

    left_out = max(len(trace) - limit, 0)
    trace = trace[:limit]
    table = rows(trace)
    figure = charts.figure(figsize=(10, 0.5 + 0.32 * max(len(table), 1)))
    axes = figure.subplots()
    services = list(dict.fromkeys(span.service for span in trace))
    colours = ["#3b6ea5", "#d98c3f", "#5a9e6f", "#9c5ba3"]
    for index, (span, row) in enumerate(zip(trace, table, strict=True)):
        axes.barh(index, max(row["ms"], 0.05), left=row["starts_at_ms"], height=0.6,
                  color=colours[services.index(span.service) % len(colours)])
        axes.text(row["starts_at_ms"] + row["ms"], index, f"  {row['ms']:g} ms", va="center",
                  fontsize=7)
    axes.set_yticks(range(len(table)),
                    [("· " * depth(span, trace)) + label(span)[:44] for span in trace],
                    fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("ms since the request arrived"
                    + (f" ({left_out} later spans not drawn)" if left_out else ""))
    axes.set_title(title or f"one trace, {len(trace) + left_out} spans "
                   f"({', '.join(services)})", fontsize=10)
    figure.tight_layout()
    return figure


@contextmanager
def serving(target: Path, *, workers: int = 2, extra_env: dict[str, str] | None = None
            ) -> Iterator[tuple[str, Path]]:
    """``target`` served from its Procfile (see ``metrics_watch.serving``), writing its spans
    under a fresh ``TRACES_DIR``: its base URL and that folder."""
    from course.measuring import metrics_watch

    with tempfile.TemporaryDirectory(prefix="course-traces-") as scratch:
        folder = Path(scratch) / "spans"
        folder.mkdir()
        with metrics_watch.serving(target, workers=workers,
                                   extra_env={"TRACES_DIR": str(folder),
                                              **(extra_env or {})}) as base:
            yield base, folder
