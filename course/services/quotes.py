"""The outside HTTP services the shop calls: real servers that are slow, or never answer, on
demand.

One program plays two of them, each under supervisord with a control file of its own:

* the carrier's quote API (service ``quotes``, chapter 08): the shop asks it for a delivery
  price (``GET /quote?product=ID&postcode=CODE`` → JSON), as a real shop asks a carrier's API;
* the marketing team's analytics collector (service ``analytics``, chapter 14): the shop
  posts one event per page view (``POST /events``, a JSON object); ``GET /events`` lists what
  it has stored (``?reset=1`` forgets them).

Run as ``python -m course.services.quotes --port N --control FILE``. Its behaviour is read
from the JSON control file on every request, so notebooks and graders change it without a
restart::

    from course.services import quotes
    quotes.set_behaviour(delay_ms=300)          # every quote takes 0.3 s (the default)
    quotes.set_behaviour(mode="hang")           # accept the connection, never answer
    quotes.set_behaviour(mode="error")          # answer 503 at once
    quotes.set_behaviour(mode="answer", delay_ms=50)

``/stats`` reports how many requests it has received and answered and the most it has had
in flight at once (``in_flight_max``): what tells an async client from a thread pool.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course import paths, statefiles

DEFAULT_DELAY_MS = 300
MODES = ("answer", "hang", "error")
CARRIERS = ("Parcelo", "Swift Post", "Cargoline")


def control_file(service: str = "quotes") -> Path:
    """Where the learner's ``quotes`` (or ``analytics``) service reads how to behave."""
    return paths.STATE / "run" / f"{service}_control.json"


def set_behaviour(*, delay_ms: float | None = None, mode: str | None = None,
                  path: Path | None = None) -> None:
    """Change how the service answers from its next request on."""
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    path = path or control_file()
    data = read_behaviour(path)
    if delay_ms is not None:
        data["delay_ms"] = float(delay_ms)
    if mode is not None:
        data["mode"] = mode
    statefiles.write_json(path, data)


def read_behaviour(path: Path | None = None) -> dict[str, Any]:
    data = statefiles.read_json(path or control_file(), {})
    return {"delay_ms": float(data.get("delay_ms", DEFAULT_DELAY_MS)),
            "mode": data.get("mode", "answer") if data.get("mode") in MODES else "answer"}


def reset_behaviour(path: Path | None = None) -> None:
    statefiles.write_json(path or control_file(), {"delay_ms": DEFAULT_DELAY_MS,
                                                   "mode": "answer"})


def quote_for(product: str, postcode: str) -> dict[str, Any]:
    """The same quote for the same product and postcode, every time."""
    digest = hashlib.sha256(f"{product}:{postcode}".encode()).digest()
    cents = 290 + digest[0] * 3
    return {"product": product, "postcode": postcode, "carrier": CARRIERS[digest[1] % 3],
            "price": f"{cents // 100}.{cents % 100:02d}", "currency": "EUR",
            "days": 1 + digest[2] % 4}


def stats(port: int, timeout: float = 5.0) -> dict[str, int]:
    """What the service on ``port`` has seen since it started (or since ``reset=1``)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=timeout) as answer:
        return json.load(answer)


def reset_stats(port: int, timeout: float = 5.0) -> None:
    urllib.request.urlopen(f"http://127.0.0.1:{port}/stats?reset=1", timeout=timeout).read()


def events(port: int, timeout: float = 5.0, *, reset: bool = False) -> list[Any]:
    """The events the collector on ``port`` has stored, oldest first (and, with ``reset``,
    forgotten)."""
    query = "?reset=1" if reset else ""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/events{query}",
                                timeout=timeout) as answer:
        return json.load(answer)["events"]


def answers(port: int, timeout: float = 2.0) -> bool:
    try:
        stats(port, timeout)
        return True
    except OSError:
        return False


class QuoteServer:
    """HTTP/1.1 with keep-alive, on asyncio: any number of requests wait at once."""

    def __init__(self, control: Path) -> None:
        self.control = control
        self.in_flight = 0
        self.in_flight_max = 0
        self.answered = 0
        self.received = 0
        self.events: list[Any] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _version = request_line.split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (line.partition(":") for line in header_lines if line)}
                length = int(headers.get("content-length", "0") or 0)
                sent = await reader.readexactly(length) if length else b""
                status, body = await self.respond(method, target, sent)
                if status is None:  # hang: keep the connection open, say nothing
                    await asyncio.Event().wait()
                keep = headers.get("connection", "").lower() != "close"
                writer.write(
                    f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n"
                    f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n".encode() + body)
                await writer.drain()
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError,
                asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def respond(self, method: str, target: str,
                      sent: bytes = b"") -> tuple[str | None, bytes]:
        url = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/stats":
            if query.get("reset"):
                self.in_flight_max = self.in_flight
                self.answered = self.received = 0
            return "200 OK", json.dumps({"answered": self.answered, "received": self.received,
                                         "in_flight": self.in_flight,
                                         "in_flight_max": self.in_flight_max,
                                         "events": len(self.events)}).encode()
        if url.path == "/events" and method == "GET":
            listed = json.dumps({"events": self.events}).encode()
            if query.get("reset"):
                self.events = []
            return "200 OK", listed
        if (url.path, method) not in {("/quote", "GET"), ("/events", "POST")}:
            return "404 Not Found", b'{"error": "GET /quote?product=ID&postcode=CODE, or POST /events"}'
        self.received += 1
        behaviour = read_behaviour(self.control)
        if behaviour["mode"] == "hang":
            return None, b""
        if behaviour["mode"] == "error":
            return "503 Service Unavailable", b'{"error": "quotes are unavailable"}'
        self.in_flight += 1
        self.in_flight_max = max(self.in_flight_max, self.in_flight)
        try:
            await asyncio.sleep(behaviour["delay_ms"] / 1000)
        finally:
            self.in_flight -= 1
        self.answered += 1
        if url.path == "/events":
            return self.store_event(sent)
        if "product" not in query or "postcode" not in query:
            return "400 Bad Request", b'{"error": "product and postcode are required"}'
        return "200 OK", json.dumps(quote_for(query["product"], query["postcode"])).encode()


    def store_event(self, sent: bytes) -> tuple[str, bytes]:
        try:
            event = json.loads(sent)
        except ValueError:
            return "400 Bad Request", b'{"error": "an event is a JSON object"}'
        if not isinstance(event, dict):
            return "400 Bad Request", b'{"error": "an event is a JSON object"}'
        self.events.append(event)
        return "201 Created", json.dumps({"stored": len(self.events)}).encode()


async def _serve(port: int, control: Path) -> None:
    server = await asyncio.start_server(QuoteServer(control).handle, "127.0.0.1", port,
                                        backlog=1024)
    print(f"answering on http://127.0.0.1:{port}/quote and /events (control: {control})",
          flush=True)
    async with server:
        await server.serve_forever()


@dataclass
class PrivateServer:
    """This service in a process of its own, on a free port, with its own control file: for
    a grader or a measurement that must not change the learner's."""

    folder: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def control(self) -> Path:
        return self.folder / "quotes_control.json"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **behaviour: Any) -> PrivateServer:
        from course.services.ports import free_port

        self.port = free_port()
        reset_behaviour(self.control)
        if behaviour:
            set_behaviour(path=self.control, **behaviour)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "course.services.quotes", "--port", str(self.port),
             "--control", str(self.control)],
            env=dict(os.environ, PYTHONPATH=str(paths.ROOT)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not answers(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"the outside service on port {self.port} did not start")
            time.sleep(0.05)
        return self

    def behave(self, **behaviour: Any) -> None:
        set_behaviour(path=self.control, **behaviour)

    def stats(self) -> dict[str, int]:
        return stats(self.port)

    def reset_stats(self) -> None:
        reset_stats(self.port)

    def events(self, *, reset: bool = False) -> list[Any]:
        return events(self.port, reset=reset)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def __enter__(self) -> PrivateServer:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control", type=Path, default=control_file())
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args.port, args.control))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
