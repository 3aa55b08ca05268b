"""Reading spans back from OTLP JSON lines: the tree, the request's span, the broken lines."""

from __future__ import annotations

import json
from pathlib import Path

from course.measuring import traces


def _span(span_id: str, parent: str, name: str, kind: int, start_ms: float, end_ms: float,
          **attributes: object) -> dict:
    def value(item: object) -> dict:
        if isinstance(item, bool):
            return {"boolValue": item}
        if isinstance(item, int):
            return {"intValue": str(item)}
        return {"stringValue": str(item)}

    return {"traceId": "t" * 32, "spanId": span_id, "parentSpanId": parent, "name": name,
            "kind": kind, "startTimeUnixNano": str(int(start_ms * 1e6)),
            "endTimeUnixNano": str(int(end_ms * 1e6)),
            "attributes": [{"key": key, "value": value(item)}
                           for key, item in attributes.items()]}


def _line(service: str, *spans: dict) -> str:
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}]}]})


def test_a_request_its_statement_and_a_task_read_back_as_one_tree(tmp_path: Path) -> None:
    (tmp_path / "spans-1.jsonl").write_text(_line(
        "shop",
        _span("s1", "", "GET products/", traces.SERVER, 0, 400, **{"shop.request_id": "r-1"}),
        _span("s2", "s1", "SELECT", traces.CLIENT, 10, 310, **{"db.system": "sqlite",
                                                               "db.statement": "SELECT 1"}),
        _span("s3", "s1", "apply_async/task", traces.PRODUCER, 320, 330)) + "\n\n")
    (tmp_path / "spans-2.jsonl").write_text(
        _line("shop", _span("s4", "s3", "run/task", traces.CONSUMER, 340, 390)) + "\nnot json\n")

    spans, broken = traces.read(tmp_path)
    assert broken == ["spans-2.jsonl:2"]
    server = traces.server_span(spans, "r-1")
    assert server is not None and server.ms == 400 and server.service == "shop"
    assert traces.server_span(spans, "r-2") is None
    task = next(span for span in spans if span.span_id == "s4")
    assert traces.descends_from(task, server, spans)
    assert not traces.descends_from(server, task, spans)
    table = traces.rows(traces.trace_of(spans, server.trace_id))
    assert [row["span"] for row in table] == [
        "GET products/", "  SELECT", "  apply_async/task", "    run/task"]
    assert [row["starts_at_ms"] for row in table] == [0, 10, 320, 340]
    assert table[1]["detail"] == "SELECT 1" and table[1]["kind"] == "client"
    statement = traces.Span("t", "s", "", "SELECT", traces.CLIENT, 0, 1, "shop", {
        "db.system": "sqlite", "db.statement": 'SELECT "shop_review"."id" FROM "shop_review"'})
    command = traces.Span("t", "r", "", "GET", traces.CLIENT, 0, 1, "shop",
                          {"db.system": "redis", "db.statement": "GET ?"})
    assert [traces.label(statement), traces.label(command), traces.label(server)] == [
        "SELECT shop_review", "GET ?", "GET products/"]


def test_a_parent_loop_does_not_hang_the_reader() -> None:
    spans = traces.parse_line(_line("shop", _span("a", "b", "one", 1, 0, 1),
                                    _span("b", "a", "two", 1, 0, 1)))
    assert not traces.descends_from(spans[0], traces.Span("x", "c", "", "", 0, 0, 0, ""), spans)
    assert traces.depth(spans[0], spans) == 50


def test_wait_for_returns_once_found_or_after_the_time(tmp_path: Path) -> None:
    (tmp_path / "spans-1.jsonl").write_text(
        _line("shop", _span("s1", "", "GET /", traces.SERVER, 0, 1, rid="r")) + "\n")
    assert traces.wait_for(tmp_path, lambda spans: traces.server_span(spans, "r"), 5)
    assert len(traces.wait_for(tmp_path, lambda spans: False, 0.3)) == 1
