"""The outside service answers quotes and stores events, waits as told, hangs and fails on
demand, and counts the requests it receives and holds at once."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from course.services import quotes


@pytest.fixture
def service(tmp_path: Path):
    with quotes.PrivateServer(tmp_path).start(delay_ms=20) as server:
        yield server


def _get(url: str, timeout: float = 10) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_a_quote_is_the_same_for_the_same_question(service: quotes.PrivateServer) -> None:
    status, first = _get(f"{service.url}/quote?product=7&postcode=1011")
    assert status == 200 and first == quotes.quote_for("7", "1011")
    assert _get(f"{service.url}/quote?product=7&postcode=1011")[1] == first
    assert _get(f"{service.url}/quote?product=8&postcode=1011")[1] != first
    assert _get(f"{service.url}/quote?product=7")[0] == 400
    assert _get(f"{service.url}/nothing")[0] == 404


def test_it_waits_as_told_and_counts_requests_in_flight(service: quotes.PrivateServer) -> None:
    service.behave(delay_ms=400)
    service.reset_stats()
    started = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        found = list(pool.map(lambda n: _get(f"{service.url}/quote?product={n}&postcode=1"),
                              range(20)))
    elapsed = time.monotonic() - started
    assert all(status == 200 for status, _ in found)
    assert 0.4 <= elapsed < 2.0, elapsed  # twenty at once, not one after another
    seen = service.stats()
    assert seen["answered"] == 20 and seen["in_flight_max"] >= 15, seen


def test_it_hangs_or_fails_on_demand_without_a_restart(service: quotes.PrivateServer) -> None:
    service.behave(mode="hang")
    started = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        _get(f"{service.url}/quote?product=1&postcode=1", timeout=0.5)
    assert time.monotonic() - started < 2
    service.behave(mode="error")
    assert _get(f"{service.url}/quote?product=1&postcode=1")[0] == 503
    service.behave(mode="answer", delay_ms=0)
    assert _get(f"{service.url}/quote?product=1&postcode=1")[0] == 200
    with pytest.raises(ValueError, match="mode must be one of"):
        service.behave(mode="slow")


def _post(url: str, body: bytes, timeout: float = 10) -> int:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_collector_stores_events_as_told_and_lists_them(
        service: quotes.PrivateServer) -> None:
    service.behave(delay_ms=0)
    assert _post(f"{service.url}/events", b'{"page": "trending"}') == 201
    assert _post(f"{service.url}/events", b'["not", "an", "object"]') == 400
    service.behave(mode="error")
    assert _post(f"{service.url}/events", b'{"page": "lost"}') == 503
    service.behave(mode="hang")
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        _post(f"{service.url}/events", b'{"page": "held"}', timeout=0.5)
    seen = service.stats()
    assert seen["received"] == 4 and seen["events"] == 1, seen
    assert service.events(reset=True) == [{"page": "trending"}]
    assert service.events() == []
