"""What a load balancer does, measured (chapter 11): which instance answered each request,
how many connections it opened to them, what they were told, what a visitor saw while an
instance died, and what Django believes of the headers a balancer sends.

:class:`RecordingUpstream` stands where an app server stands and keeps a record of every
connection and every request nginx sent it; :func:`steady_load` keeps visitors busy for a
few seconds, and can kill something in the middle, counting every answer that was not a
200; :func:`what_django_believes` plays the balancer in front of one instance.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from course.services import free_port, nginx
from course.services.base import ServiceError

TEMPLATE = nginx.TEMPLATES / "lb.conf.template"
PAGE = "/products/"
VISITOR_HOST = "shop.example.com"
FORGED_ADDRESS = "203.0.113.9"  # what a client claims in its own X-Forwarded-For


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
        raise ServiceError(f"{TEMPLATE} does not exist")
    with nginx.running(sources, balancer_values(port, urls), folder, port,
                       project=project) as running:
        yield running


def answered_by(folder: Path) -> Counter[str]:
    """How many requests each upstream address answered, from nginx's access log (a request
    retried on another instance counts for the one that answered it)."""
    counts: Counter[str] = Counter()
    for line in nginx.access_log(folder):
        match = re.search(r"upstream=([^\s,]+(?:, [^\s,]+)*)", line)
        if match and match[1] != "-":
            counts[match[1].split(", ")[-1]] += 1
    return counts


@dataclass
class LoadOutcome:
    """What visitors saw during :func:`steady_load`."""

    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # a connection error, one per request
    # answers whose status line arrived and whose body was then cut off: the instance died
    # while sending it, after nginx had passed its headers on, so nothing could retry it
    cut: int = 0
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + len(self.failures) + self.cut

    @property
    def lost(self) -> int:
        """Requests answered with an error or not at all (the ones a retry could save)."""
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
                try:
                    response.read()
                except (OSError, http.client.HTTPException):
                    with lock:
                        outcome.cut += 1
                    connection.close()
                    connection = None
                    continue
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


def load_while_killing(project: Path, urls: list[str], victim: subprocess.Popen[bytes],
                       folder: Path, *, users: int, seconds: float, at: float
                       ) -> tuple[LoadOutcome, Counter[str]]:
    """``project``'s balancer in front of the instances at ``urls``, :func:`steady_load` on
    :data:`PAGE` through it, and ``victim`` (an instance started in a session of its own)
    killed with everything it started ``at`` seconds in: what the visitors saw, and how
    many requests each instance's address answered."""
    port = free_port()
    with balancer(project, port, urls, folder) as running:
        outcome = steady_load(f"http://127.0.0.1:{port}", PAGE, users=users, seconds=seconds,
                              at=at, action=lambda: os.killpg(victim.pid, signal.SIGKILL))
        return outcome, answered_by(running)


# What Django believes of the headers the balancer sends (11.3) ---------------------------

BALANCER_ADDRESS = "127.0.0.1"  # where requests to an instance come from here
CDN_HOP = "10.0.0.2"  # a proxy in front of the balancer
VISITOR = "198.51.100.7"
# (what the request is, its X-Forwarded-For, the client it comes from)
FORWARDED_CASES = [
    ("a request with no X-Forwarded-For", None, BALANCER_ADDRESS),
    ("a visitor, as the balancer passes it on", VISITOR, VISITOR),
    ("a visitor who sent a forged X-Forwarded-For, appended to", f"{FORGED_ADDRESS}, {VISITOR}",
     VISITOR),
    ("a visitor through a CDN, then the balancer", f"{VISITOR}, {CDN_HOP}", VISITOR),
]
API_PAGE = "/api/products/?page_size=5"  # more products than that: a next link


def ask(base: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """GET ``path`` on ``base`` with ``headers``, as a proxy would pass a request on."""
    connection = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]),
                                            timeout=30)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1", **headers})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def logged_line(base: str, request_id: str, within: float = 10.0) -> dict[str, Any] | None:
    """The JSON request line (10.2) of request ``request_id`` on the server's output."""
    from course.measuring.metrics_watch import json_lines

    deadline = time.monotonic() + within
    while True:
        lines = [line for line in json_lines(base)
                 if line.get("request_id") == request_id and "status" in line]
        if lines or time.monotonic() > deadline:
            return lines[0] if lines else None
        time.sleep(0.1)


def what_django_believes(states: dict[str, Path]) -> list[dict[str, Any]]:
    """For each state, one instance started from its Procfile behind a balancer at
    127.0.0.1 with a CDN in front (``TRUSTED_PROXIES``), sent what they would pass on: a row
    per request, with what the state logged as its client and the API's next link."""
    import json
    import uuid

    rows = []
    for name, target in states.items():
        print(f"  {name} …", flush=True)
        with instances(target, 1, extra_env={
                "TRUSTED_PROXIES": f"{BALANCER_ADDRESS},{CDN_HOP}"}) as served:
            base = served[0][0]
            for scheme in ("https", "http"):
                status, body = ask(base, API_PAGE, {"X-Forwarded-Proto": scheme})
                link = (json.loads(body).get("next") or "(no next link)") if status == 200 \
                    else f"HTTP {status}"
                rows.append({"name": name, "request": f"API page marked {scheme}",
                             "X-Forwarded-For": "", "expected": f"{scheme}://…",
                             "seen": (link or "")[:40]})
            for what, forwarded, wanted in FORWARDED_CASES:
                request_id = f"notebook-{uuid.uuid4().hex[:12]}"
                headers = {"X-Request-ID": request_id}
                if forwarded:
                    headers["X-Forwarded-For"] = forwarded
                ask(base, PAGE, headers)
                line = logged_line(base, request_id) or {}
                rows.append({"name": name, "request": what, "X-Forwarded-For": forwarded or "",
                             "expected": wanted,
                             "seen": line.get("client", "(no client field)" if line else
                                              "(no request line)")})
    return rows


# For the notebook: the same measurements, on project states and variants of their template.

def replaced_text(path: Path, replacements: dict[str, str]) -> str:
    """The text of ``path`` with each text of ``replacements`` replaced (one missing is an
    error): a file of a project as it would be with one change."""
    text = path.read_text(encoding="utf-8")
    for old, new in replacements.items():
        if old not in text:
            raise ValueError(f"{path} has no {old!r} to replace")
        text = text.replace(old, new)
    return text


@contextmanager
def template_variant(project: Path, replacements: dict[str, str]) -> Iterator[Path]:
    """A folder holding ``project``'s ``lb.conf.template`` with each text of
    ``replacements`` replaced (one missing is an error): a balancer configured otherwise."""
    text = replaced_text(Path(project) / TEMPLATE, replacements)
    with tempfile.TemporaryDirectory(prefix="course-lb-") as scratch:
        (Path(scratch) / TEMPLATE).parent.mkdir(parents=True)
        (Path(scratch) / TEMPLATE).write_text(text, encoding="utf-8")
        yield Path(scratch)


def one_visitor(project: Path, upstreams: list[RecordingUpstream], requests: int
                ) -> list[int]:
    """``project``'s balancer in front of ``upstreams``, and ``requests`` from one visitor
    (one kept-open connection, as a browser's) that claims an address of its own in
    X-Forwarded-For: the statuses it got."""
    port = free_port()
    statuses = []
    with ExitStack() as stack:
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="course-lb-"))
        for upstream in upstreams:
            stack.enter_context(upstream.serving())
        stack.enter_context(balancer(project, port, [f"http://{u.address}" for u in upstreams],
                                     Path(scratch)))
        visitor = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            for _ in range(requests):
                visitor.request("GET", PAGE, headers={"Host": VISITOR_HOST,
                                                      "X-Forwarded-For": FORGED_ADDRESS})
                response = visitor.getresponse()
                response.read()
                statuses.append(response.status)
        finally:
            visitor.close()
    return statuses


def what_instances_see(templates: dict[str, Path], *, requests: int = 60) -> list[dict[str, Any]]:
    """For each balancer (a folder holding an ``lb.conf.template``): ``requests`` from one
    visitor, on one kept-open connection, to two recording upstreams behind it; a row of
    where they went, over how many connections, and what the instances were told."""
    rows = []
    for name, project in templates.items():
        upstreams = [RecordingUpstream("first"), RecordingUpstream("second")]
        try:
            one_visitor(project, upstreams, requests)
        except ServiceError as error:  # the template as it is now: nginx refuses it
            rows.append({"name": name, "problem": str(error)})
            continue
        seen = [request for upstream in upstreams for request in upstream.requests]
        first = seen[0].headers if seen else {}
        ids = {request.headers.get("x-request-id") for request in seen} - {None}
        rows.append({
            "name": name,
            "requests per instance": " / ".join(str(len(u.requests)) for u in upstreams),
            "connections opened": sum(u.connections for u in upstreams),
            "HTTP version": ", ".join(sorted({request.version for request in seen})),
            "Host": first.get("host", "—"),
            "X-Forwarded-For": first.get("x-forwarded-for", "—"),
            "X-Forwarded-Proto": first.get("x-forwarded-proto", "—"),
            "distinct request ids": len(ids),
        })
    return rows


@contextmanager
def instances(target: Path, count: int, *, workers: int = 1,
              extra_env: dict[str, str] | None = None
              ) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """``count`` instances of ``target``, each started from its Procfile with ``workers``
    workers (and ``extra_env``), sharing one migrated copy of your data: their base URLs
    and processes."""
    from course.measuring import bench, procfile, visits

    with tempfile.TemporaryDirectory(prefix="course-instances-") as scratch, \
            bench.migrated_copy(Path(target)) as env:
        env = {**visits.production_env(env, Path(scratch) / "static"), **(extra_env or {})}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the Procfile gives each its own
        visits.collect_static(Path(target), env)
        with ExitStack() as stack:
            yield [stack.enter_context(procfile.serve(Path(target), env, workers=workers,
                                                      probe_path=PAGE))
                   for _ in range(count)]


def kill_one(target: Path, templates: dict[str, Path], *, users: int = 8,
             seconds: float = 6.0, kill_at: float = 2.0) -> list[dict[str, Any]]:
    """For each balancer: two instances of ``target`` behind it, ``users`` visitors on
    :data:`PAGE` for ``seconds``, and the second instance killed (SIGKILL, as a crash or a
    lost host) ``kill_at`` seconds in; a row of what the visitors saw."""
    rows = []
    for name, project in templates.items():
        print(f"  {name}: two instances, {users} visitors, one instance killed "
              f"{kill_at:g} s in …", flush=True)
        with instances(target, 2) as served, \
                tempfile.TemporaryDirectory(prefix="course-lb-") as scratch:
            urls = [base for base, _ in served]
            outcome, answered = load_while_killing(project, urls, served[1][1], Path(scratch),
                                                   users=users, seconds=seconds, at=kill_at)
        rows.append({"name": name, "requests": outcome.sent, "failed": outcome.lost,
                     "failed_per_1000": round(1000 * outcome.lost / max(outcome.sent, 1), 1),
                     "cut mid-answer": outcome.cut,
                     "answered by the survivor": answered.get(
                         urls[0].removeprefix("http://"), 0),
                     "answered by the killed one": answered.get(
                         urls[1].removeprefix("http://"), 0)})
    return rows


def throughput_by_layout(target: Path, template_from: Path, layouts: list[tuple[int, int]], *,
                         users: int = 16, seconds: int = 5, rounds: int = 3
                         ) -> list[dict[str, Any]]:
    """Requests per second on :data:`PAGE` through ``template_from``'s balancer in front of
    each layout, (instances, workers per instance), of ``target``, in one run: a row per
    layout with the medians of ``rounds`` load runs, and its ratio to the first."""
    from statistics import median

    from course.measuring import load

    rows: list[dict[str, Any]] = []
    for count, workers in layouts:
        print(f"  {count} instance{'s' if count > 1 else ''} × {workers} "
              f"worker{'s' if workers > 1 else ''} …", flush=True)
        with instances(target, count, workers=workers) as served, \
                tempfile.TemporaryDirectory(prefix="course-lb-") as scratch:
            port = free_port()
            with balancer(template_from, port, [base for base, _ in served], Path(scratch)):
                runs = [load.locust(f"http://127.0.0.1:{port}", PAGE, users=users,
                                    seconds=seconds) for _ in range(rounds)]
        rows.append({"name": f"{count} × {workers}", "instances": count,
                     "processes": count * workers, "cores": os.cpu_count(),
                     **{key: median(run[key] or 0 for run in runs)
                        for key in ("req_per_s", "median_ms", "p95_ms")},
                     "failures": sum(run["failures"] or 0 for run in runs)})
    for row in rows:
        row["vs_first"] = round(row["req_per_s"] / rows[0]["req_per_s"], 2) \
            if rows[0]["req_per_s"] else None
    return rows
