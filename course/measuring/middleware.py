"""What each middleware costs a request (chapter 09): in process, on the trivial view, sync
and async.

No server and no network: the child process sets the project up under its production
settings (on a migrated scratch copy of your data, with a Redis database of its own) and
hands ``GET /course-floor/`` straight to Django's own handlers, the WSGI one (what gunicorn
and granian's WSGI interface call) and the ASGI one. The trivial view does no work, so
what a request costs there is the middleware around it and Django's request handling::

    from course import middleware
    rows = middleware.costs()                       # your starter_project/
    rows = middleware.costs(reference_through="09")  # a reference state

Each middleware's cost is the median time of a request through the stack up to and
including it, less the median through the stack up to the one before: stacks are cut
after a middleware, never around one, because a middleware may need those above it
(authentication needs the session). Every round times every stack once, in turn, so a
busy moment of the machine falls on all of them; medians are taken over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from course import paths
from course.measuring import bench, visits

MARK = "@@course-middleware@@"
FLOOR_PATH = "/course-floor/"
PRODUCTION = "config.settings.production"
KINDS = {"sync": "WSGI", "async": "ASGI"}


def costs(
    target: Path | None = None, *, reference_through: str | None = None,
    settings: str = PRODUCTION, rounds: int | None = None, calls: int | None = None,
    report: Callable[[str], None] | None = print,
) -> list[dict[str, Any]]:
    """One row per middleware of ``settings``' ``MIDDLEWARE`` (in order), with its cost per
    request in µs under WSGI (``sync µs``) and under ASGI (``async µs``), then a row for the
    whole stack and one for the trivial view with no middleware at all.

    ``rounds`` (default 9) times every stack that many times, ``calls`` (default 100)
    requests each time; the course's own test suite runs fewer."""
    quick = bool(os.environ.get("COURSE_QUICK"))
    rounds = rounds or (3 if quick else 9)
    calls = calls or (30 if quick else 100)
    if reference_through:
        from course import catalog
        from course.project import states

        target = states.reference_state(catalog.load(), reference_through)
    target = Path(target or paths.STARTER)
    medians: dict[str, list[float]] = {}
    with bench.migrated_copy(target) as env:
        env.update(visits.production_settings_env(env), DJANGO_SETTINGS_MODULE=settings)
        for kind in KINDS:  # one process each: a thread the other left behind skews it
            command = [sys.executable, "-m", "course.measuring.middleware", "--target",
                       str(target), "--kind", kind, "--rounds", str(rounds),
                       "--calls", str(calls)]
            found = bench.run_child(command, env, f"timing the middleware of {target}",
                                    MARK, report=report, label=KINDS[kind])
            stack, medians[kind] = json.loads(found)
    return _rows(stack, medians)


def _rows(stack: list[str], medians: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Medians of every cut of ``stack`` (by kind) as a row per middleware, then the whole
    stack and the view with none."""
    def column(kind: str) -> str:
        return f"{kind} µs"

    def row(name: str, value: Callable[[list[float]], float]) -> dict[str, Any]:
        return {"middleware": name} | {column(kind): round(value(cuts), 1)
                                       for kind, cuts in medians.items()}

    rows = [row(name, lambda cuts, cut=cut: cuts[cut + 1] - cuts[cut])
            for cut, name in enumerate(stack)]
    rows.append(row(f"all {len(stack)}", lambda cuts: cuts[-1] - cuts[0]))
    rows.append(row("the view, no middleware", lambda cuts: cuts[0]))
    return rows


# The child process ------------------------------------------------------------------------


def _environ(host: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": FLOOR_PATH, "QUERY_STRING": "",
        "SCRIPT_NAME": "", "SERVER_NAME": host, "SERVER_PORT": "443", "HTTP_HOST": host,
        "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_ACCEPT": "text/html", "wsgi.url_scheme": "https", "wsgi.version": (1, 0),
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _scope(host: str) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "https", "path": FLOOR_PATH, "raw_path": FLOOR_PATH.encode(),
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
        "server": (host, 443), "headers": [(b"host", host.encode()), (b"accept", b"text/html")],
    }


def _sync_timer(handler: Any, host: str, calls: int) -> Callable[[], float]:
    base = _environ(host)

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        start_response.status = status  # type: ignore[attr-defined]

    def one() -> None:
        environ = dict(base, **{"wsgi.input": io.BytesIO(b"")})
        response = handler(environ, start_response)
        try:
            b"".join(response)
        finally:
            response.close()  # what a server does: request_finished closes the connections

    def timed() -> float:
        started = time.perf_counter()
        for _ in range(calls):
            one()
        return (time.perf_counter() - started) / calls * 1e6

    one()
    if not start_response.status.startswith("200"):  # type: ignore[attr-defined]
        raise RuntimeError(f"GET {FLOOR_PATH} answered {start_response.status}")  # type: ignore[attr-defined]
    return timed


def _async_timer(handler: Any, host: str, calls: int) -> Callable[[], float]:
    scope = _scope(host)
    statuses: list[int] = []

    async def one() -> None:
        delivered = False
        never = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await never.wait()  # the client never goes away
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await handler(dict(scope), receive, send)

    async def many(count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            await one()
        return (time.perf_counter() - started) / count * 1e6

    asyncio.run(many(1))
    if statuses[-1] != 200:
        raise RuntimeError(f"GET {FLOOR_PATH} over ASGI answered {statuses[-1]}")
    return lambda: asyncio.run(many(calls))


def _handlers(stack: list[str], kind: str) -> list[Any]:
    """Django's handler of ``kind`` ("wsgi", "asgi") for each cut of ``stack``: none of it,
    its first middleware, its first two … all of it."""
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    made = []
    for cut in range(len(stack) + 1):
        with override_settings(MIDDLEWARE=stack[:cut]):
            made.append(WSGIHandler() if kind == "wsgi" else ASGIHandler())
    return made


def _measure(kind: str, rounds: int, calls: int) -> tuple[list[str], list[float]]:
    """The project's stack and the median µs per request through each cut of it."""
    from django.conf import settings

    settings.ROOT_URLCONF = "course.measuring.middleware_urls"
    stack = list(settings.MIDDLEWARE)
    hosts = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith((".", "*"))]
    host = hosts[0] if hosts else "localhost"
    make = _sync_timer if kind == "sync" else _async_timer
    timers = [make(handler, host, calls)
              for handler in _handlers(stack, "wsgi" if kind == "sync" else "asgi")]
    samples: list[list[float]] = [[] for _ in timers]
    for number in range(1, rounds + 1):
        print(f"[round {number}/{rounds}] {len(timers)} stacks", file=sys.stderr, flush=True)
        for cut, timer in enumerate(timers):
            samples[cut].append(timer())
    return stack, [statistics.median(values) for values in samples]


def _child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m course.measuring.middleware")
    parser.add_argument("--target", type=Path, required=True)
    parser.add_argument("--kind", choices=list(KINDS), required=True)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args(argv)
    from course.project.runtime import configure

    configure(args.target, settings=PRODUCTION)
    print(MARK + json.dumps(_measure(args.kind, args.rounds, args.calls)))


if __name__ == "__main__":
    _child(sys.argv[1:])
