"""Throughput under a real app server: gunicorn serves a project state, locust loads it.

Both run out of process, as they would in production: gunicorn with its own
workers on a copy of the learner's data (and an empty Redis database of its
own), locust headless, writing its statistics to CSV. The "floor" is a trivial
Django view served the same way, to show how close a cached page can get to
the cost of Django itself::

    from course.measuring import load
    rows = load.compare_throughput(reference_through="05", page="product list")
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from course import paths, services
from course.measuring import bench

FLOOR_APP = "course.measuring.floor_app:application"
# gunicorn's worker for an ASGI application: uvicorn's (uvloop and httptools when installed).
ASGI_WORKER = "uvicorn_worker.UvicornWorker"
# gunicorn's defaults, not the project's gunicorn.conf.py: a comparison compares the code.
PLAIN_CONFIG = Path(__file__).with_name("gunicorn_plain.conf.py")


class LoadError(RuntimeError):
    """The server or the load generator could not run: the message says why."""


ELSEWHERE_GRACE = 3.0  # seconds a server may listen on other ports only before it is told


def listening_ports(server: subprocess.Popen[bytes]) -> set[int]:
    """The TCP ports ``server`` and the processes it started listen on."""
    import psutil

    try:
        root = psutil.Process(server.pid)
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return set()
    ports = set()
    for process in family:
        try:
            ports.update(c.laddr.port for c in process.net_connections(kind="tcp")
                         if c.status == psutil.CONN_LISTEN)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return ports


def wait_until_serving(url: str, server: subprocess.Popen[bytes], log: Path,
                       *, within: float = 60) -> None:
    """Return once ``url`` answers (any status); LoadError with the server's last words if
    the server stops, saying where it listens if that is only elsewhere (for a few seconds),
    or if nothing answers ``within`` seconds."""
    deadline = time.monotonic() + within
    port = urlsplit(url).port
    elsewhere_since: float | None = None
    while time.monotonic() < deadline:
        if server.poll() is not None:
            last = (log.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise LoadError(f"the server stopped at start: {last} (log: {log})")
        try:
            urllib.request.urlopen(url, timeout=30).read()
            return
        except urllib.error.HTTPError:
            return  # it answers, even if not 200: serving
        except OSError:
            time.sleep(0.2)
        ports = listening_ports(server)
        if ports and port not in ports:
            elsewhere_since = elsewhere_since or time.monotonic()
            if time.monotonic() - elsewhere_since >= ELSEWHERE_GRACE:
                raise LoadError(f"the server listens on port {', '.join(map(str, sorted(ports)))}"
                                f", not on {port}, where it was asked to (log: {log})")
        else:
            elsewhere_since = None
    raise LoadError(f"nothing answered {url} within {within:g} s (log: {log})")


def server_log(base: str) -> Path:
    """Where the server serving ``base`` (started by :func:`serve_command`) writes its output."""
    return paths.LOGS / f"server-{base.rsplit(':', 1)[-1]}.log"


_EXCEPTION_LINE = re.compile(r"^([\w.]*(?:Error|Exception|Configured|Canceled|Cancelled)): (.*)$")


def logged_exception(base: str) -> str:
    """The last exception the server serving ``base`` logged (``ImproperlyConfigured: …``,
    its class's last name), or ""."""
    log = server_log(base)
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    found = [m for m in map(_EXCEPTION_LINE.match, lines) if m]
    return f"{found[-1].group(1).rsplit('.', 1)[-1]}: {found[-1].group(2)}"[:240] if found else ""


@contextmanager
def serve_command(command: Sequence[str] | str, env: dict[str, str], *, cwd: Path, port: int,
                  probe_path: str = "/", within: float = 60
                  ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run a server ``command`` that listens on ``port`` (a string is a shell command line, as
    a Procfile's), wait until ``probe_path`` answers, yield its base URL and process, and stop
    it, and everything it started, afterwards. Its output goes to :func:`server_log`."""
    base = f"http://127.0.0.1:{port}"
    log = server_log(base)
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
    with log.open("wb") as output:
        server = subprocess.Popen(argv, cwd=cwd, env=env, stdout=output,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_serving(base + probe_path, server, log, within=within)
            yield base, server
        finally:
            stop(server)


def gunicorn_command(app: str, port: int, *, workers: int = 2,
                     extra_args: Sequence[str] = ()) -> list[str]:
    """gunicorn serving the WSGI ``app`` on ``port`` with gunicorn's defaults, not the project's
    own ``gunicorn.conf.py`` (:data:`PLAIN_CONFIG`); ``extra_args`` go on its command line."""
    return [sys.executable, "-m", "gunicorn", app, "--config", str(PLAIN_CONFIG),
            "--workers", str(workers),
            "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning",
            "--graceful-timeout", "3",  # a measurement's server stops without waiting
            "--no-control-socket",  # gunicorn 27 would leave one under ~/.gunicorn/
            *extra_args]


@contextmanager
def gunicorn(app: str, env: dict[str, str], *, cwd: Path, workers: int = 2,
             probe_path: str = "/", extra_args: Sequence[str] = ()) -> Iterator[str]:
    """Serve the WSGI ``app`` with :func:`gunicorn_command` on a free port; yields the base
    URL (``extra_args``: ``--access-logfile …``)."""
    port = services.free_port()
    command = gunicorn_command(app, port, workers=workers, extra_args=extra_args)
    with serve_command(command, env, cwd=cwd, port=port, probe_path=probe_path) as (base, _):
        yield base


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop a server as a deploy does (TERM), and kill it if it is still there after 30 s.
    One started in a session of its own (:func:`serve_command`) is stopped with everything
    it started: a shell's children too."""
    try:
        group = os.getpgid(server.pid) == server.pid
    except ProcessLookupError:
        group = False

    def send(number: int) -> None:
        try:
            if group:
                os.killpg(server.pid, number)
            else:
                server.send_signal(number)
        except ProcessLookupError:
            pass

    send(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        server.wait()
    deadline = time.monotonic() + 10
    while group and time.monotonic() < deadline:  # what the shell started, stopping too
        try:
            os.killpg(server.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    if group:
        send(signal.SIGKILL)


@contextmanager
def serve_state(target: Path, *, workers: int = 2, probe_path: str = "/",
                db: str | None = None, extra_env: dict[str, str] | None = None,
                extra_args: Sequence[str] = (), asgi: bool = False) -> Iterator[str]:
    """Serve a project state (yours or a reference) on a migrated copy of your data;
    ``extra_env`` adds variables (``SHIPPING_QUOTES_URL`` …), ``extra_args`` gunicorn
    options (``--worker-class gthread`` …); ``asgi`` serves ``config.asgi`` in uvicorn's
    workers instead of ``config.wsgi``."""
    app = "config.asgi:application" if asgi else "config.wsgi:application"
    if asgi:
        extra_args = [*extra_args, "--worker-class", ASGI_WORKER]
    with bench.migrated_copy(target, db=db) as env, \
            gunicorn(app, {**env, **(extra_env or {})}, cwd=target, workers=workers,
                     probe_path=probe_path, extra_args=extra_args) as base:
        yield base


def floor_env() -> dict[str, str]:
    """The environment a server of the floor app runs in: the course importable, and no
    project's settings (the floor configures its own)."""
    env = dict(os.environ, PYTHONPATH=str(paths.ROOT))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


@contextmanager
def serve_floor(*, workers: int = 2, extra_args: Sequence[str] = ()) -> Iterator[str]:
    """Serve the trivial view: Django and gunicorn, and nothing else (``extra_args``: more
    gunicorn options, ``--worker-class gthread`` …)."""
    with gunicorn(FLOOR_APP, floor_env(), cwd=paths.ROOT, workers=workers,
                  extra_args=extra_args) as base:
        yield base


LOCUSTFILE = """
from locust import FastHttpUser, constant, task


class Visitor(FastHttpUser):
    wait_time = constant(0)

    @task
    def page(self):
        self.client.get({path!r}, name="page")
"""


def run_seconds(seconds: int) -> int:
    """How long a load run lasts: ``seconds``, or less under ``COURSE_LOAD_SECONDS`` (the
    course's own test suite runs the notebooks with short runs: their timings print, nothing
    asserts on them)."""
    cap = os.environ.get("COURSE_LOAD_SECONDS")
    return min(seconds, int(cap)) if cap and cap.isdigit() else seconds


def locust(base_url: str, path: str, *, users: int = 8, seconds: int = 8
           ) -> dict[str, float | None]:
    """Put ``base_url + path`` under load with locust (headless): throughput and latency."""
    seconds = run_seconds(seconds)
    with tempfile.TemporaryDirectory(prefix="course-load-") as tmp:
        locustfile = Path(tmp) / "locustfile.py"
        locustfile.write_text(textwrap.dedent(LOCUSTFILE.format(path=path)))
        prefix = Path(tmp) / "run"
        command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
                   "--users", str(users), "--spawn-rate", str(users), "--run-time",
                   f"{seconds}s", "--host", base_url, "--csv", str(prefix), "--only-summary",
                   "--loglevel", "WARNING", "--stop-timeout", "30"]
        result = subprocess.run(command, capture_output=True, text=True, check=False,
                                timeout=seconds + 120)
        stats = Path(f"{prefix}_stats.csv")
        if not stats.exists():
            last = (result.stderr or result.stdout).strip().splitlines()[-1:]
            raise LoadError(f"locust did not run: {' '.join(last)}")
        with stats.open() as handle:
            row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    median, p95 = _number(row["Median Response Time"]), _number(row["95%"])
    if median is not None and p95 is not None:
        # locust keeps response times to two significant digits (100.8 ms counts as 100) and
        # raises a median under the fastest request to it; p95 is never below the median.
        p95 = max(p95, median)
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "req_per_s": round(float(row["Requests/s"]), 1),
        "median_ms": median,
        "p95_ms": p95,
    }


def _number(text: str) -> float | None:
    """locust writes N/A where it has no timings (every request failed)."""
    try:
        return float(text)
    except ValueError:
        return None


def redis_hits() -> tuple[int, int] | None:
    """Redis's keyspace hits and misses so far (server-wide), or None without Redis."""
    url = services.redis_url(0)
    if not url:
        return None
    try:
        import redis

        info = redis.Redis.from_url(url).info("stats")
    except Exception:  # noqa: BLE001 - no Redis, no ratio
        return None
    return int(info["keyspace_hits"]), int(info["keyspace_misses"])


def compare_throughput(*, reference_through: str, page: str, users: int = 8,
                       seconds: int = 8, workers: int = 2) -> list[dict[str, Any]]:
    """Your project, the reference and the trivial view, one after the other under the
    same load: rows for a table and a chart (``hit_ratio`` is Redis's, during the run)."""
    from course import catalog
    from course.measuring.pages import shop_pages
    from course.project import states

    path = shop_pages()[page]
    reference = states.reference_state(catalog.load(), reference_through)
    rows: list[dict[str, Any]] = []
    runs = [(f"{page}: yours", path,
             lambda: serve_state(paths.STARTER, workers=workers, probe_path=path)),
            (f"{page}: reference {reference_through}", path,
             lambda: serve_state(reference, workers=workers, probe_path=path)),
            ("trivial view (the floor)", "/", lambda: serve_floor(workers=workers))]
    for name, url_path, server in runs:
        with server() as base:
            before = redis_hits()
            measured = locust(base, url_path, users=users, seconds=seconds)
            after = redis_hits()
        ratio = None
        if before and after:
            hits, misses = after[0] - before[0], after[1] - before[1]
            ratio = round(hits / (hits + misses), 3) if hits + misses else None
        rows.append({"name": name, **measured, "hit_ratio": ratio})
    return rows
