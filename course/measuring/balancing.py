"""What a load balancer does, measured (chapter 11): which instance answered each request,
how many connections it opened to them, what they were told, and what a visitor saw while
an instance died.

:class:`RecordingUpstream` stands where an app server stands and keeps a record of every
connection and every request nginx sent it; :func:`steady_load` keeps visitors busy for a
few seconds, and can kill something in the middle, counting every answer that was not a
200.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from course.services import nginx
from course.services.base import ServiceError


@dataclass
class Seen:
    """One request as an upstream received it."""

    version: str
    headers: dict[str, str]
    connection: int  # the number of the connection it came on, per upstream


@dataclass
class RecordingUpstream:
    """An HTTP/1.1 server on 127.0.0.1 that answers every request with its own name, keeps
    connections open as long as the client wants, and records each request (its version
    and headers) and each connection it accepted."""

    name: str
    port: int = 0
    connections: int = 0
    requests: list[Seen] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @contextmanager
    def serving(self) -> Iterator[RecordingUpstream]:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, unless the client says close

            def setup(self) -> None:
                super().setup()
                with lock:
                    upstream.connections += 1
                    self.number = upstream.connections

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with lock:
                    upstream.requests.append(Seen(self.request_version,
                                                  {k.lower(): v for k, v in self.headers.items()},
                                                  self.number))
                body = upstream.name.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        lock = threading.Lock()
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


def balancer_values(port: int, urls: list[str]) -> dict[str, str]:
    """What ``services up balancer`` fills into ``lb.conf.template``."""
    return {"LB_PORT": str(port), **nginx.app_values(urls)}


@contextmanager
def balancer(project: Path, port: int, urls: list[str], folder: Path) -> Iterator[Path]:
    """A private nginx with ``project``'s ``lb.conf.template`` in front of ``urls`` on
    ``port``; yields its folder (its ``access.log`` names the instance of each request)."""
    sources = nginx.templates(project, "lb")
    if not sources:
        raise ServiceError(f"{nginx.TEMPLATES}/lb.conf.template does not exist")
    with nginx.running(sources, balancer_values(port, urls), folder, port,
                       project=project) as running:
        yield running


def answered_by(folder: Path) -> Counter[str]:
    """How many requests each upstream address answered, from nginx's access log (a request
    retried on another instance counts for the one that answered it)."""
    counts: Counter[str] = Counter()
    for line in nginx.access_log(folder):
        match = re.search(r"upstream=(\S+(?:, \S+)*)", line)
        if match and match[1] != "-":
            counts[match[1].split(", ")[-1]] += 1
    return counts


@dataclass
class LoadOutcome:
    """What visitors saw during :func:`steady_load`."""

    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # a connection error, one per request
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + len(self.failures)

    @property
    def lost(self) -> int:
        return len(self.failures) + sum(n for status, n in self.statuses.items() if status != 200)


def steady_load(base: str, path: str, *, users: int = 8, seconds: float = 4.0,
                host: str = "127.0.0.1", at: float | None = None,
                action: Callable[[], None] | None = None) -> LoadOutcome:
    """``users`` visitors asking for ``path`` on ``base`` one request after another, each on
    its own keep-alive connection (a new one after an error), for ``seconds``; ``action``
    runs once, ``at`` seconds in."""
    hostname, _, port = base.removeprefix("http://").partition(":")
    outcome = LoadOutcome()
    lock = threading.Lock()
    started = time.monotonic()
    stop_at = started + seconds

    def visitor() -> None:
        connection: http.client.HTTPConnection | None = None
        while time.monotonic() < stop_at:
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(hostname, int(port), timeout=10)
                connection.request("GET", path, headers={"Host": host})
                response = connection.getresponse()
                response.read()
                with lock:
                    outcome.statuses[response.status] += 1
                if response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    outcome.failures.append(f"{type(error).__name__}: {error}")
                if connection is not None:
                    connection.close()
                connection = None
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=visitor, daemon=True) for _ in range(users)]
    for thread in threads:
        thread.start()
    if action is not None:
        time.sleep(max(0.0, (at or 0.0) - (time.monotonic() - started)))
        action()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    outcome.seconds = time.monotonic() - started
    return outcome
