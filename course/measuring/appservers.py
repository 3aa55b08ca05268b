"""App servers, measured (chapter 08): what gunicorn's ``timeout`` does to a stuck request
under each worker class, what a project's ``gunicorn.conf.py`` amounts to, how throughput
follows the number of workers, how servers compare under the same load (gunicorn's sync and
gthread workers, uvicorn, granian), and how long a page takes while an outside service
misbehaves::

    from course.measuring import appservers
    rows = [appservers.stuck_request(kind) for kind in ("sync", "gthread")]
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from course import paths, services
from course.measuring import load
from course.measuring.visits import fetch

# The settings 08.1 is about, in the order a table shows them.
CONFIG_NAMES = ("workers", "worker_class", "threads", "timeout", "graceful_timeout",
                "keepalive", "max_requests", "max_requests_jitter", "accesslog",
                "access_log_format")


def stuck_request(worker_class: str, *, timeout: int = 2, seconds: float = 5.0) -> dict[str, Any]:
    """One request stuck for ``seconds`` under gunicorn with ``--timeout`` and a worker class:
    what the client got, after how long, and whether gunicorn logged a WORKER TIMEOUT."""
    extra = ["--worker-class", worker_class, "--timeout", str(timeout), "--log-level", "info"]
    if worker_class == "gthread":
        extra += ["--threads", "4"]
    with load.serve_floor(workers=1, extra_args=extra) as base:
        log = load.server_log(base)
        started = time.monotonic()
        try:
            answer: str | int = fetch(f"{base}/sleep/?seconds={seconds}", timeout=seconds + 30).status
        except OSError as error:  # the worker was killed with the connection open
            answer = f"no answer ({type(error).__name__})"
        took = time.monotonic() - started
        time.sleep(0.3)
        said = log.read_text(errors="replace") if log.exists() else ""
    return {"name": worker_class, "worker_class": worker_class, "timeout_s": timeout,
            "view_s": seconds,
            "answer": answer, "seconds": round(took, 2),
            "worker_timeout_logged": "WORKER TIMEOUT" in said}


def gunicorn_settings(target: Path, **env: str | None) -> dict[str, str]:
    """What gunicorn makes of the ``gunicorn.conf.py`` in ``target`` (``--print-config``,
    started in that folder as a deploy starts it), for :data:`CONFIG_NAMES`; ``env`` adds
    variables (None takes one away)."""
    variables = {**os.environ, **env}
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", "config.wsgi:application"],
        cwd=target, env={k: v for k, v in variables.items() if v is not None},
        capture_output=True, text=True, timeout=60)
    values = {}
    for line in done.stdout.splitlines():
        name, _, value = line.partition("=")
        if name.strip() in CONFIG_NAMES:
            values[name.strip()] = value.strip()
    if not values:  # it prints them, then loads the app (which may fail here: no matter)
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise load.LoadError(f"gunicorn could not read {target / 'gunicorn.conf.py'}: {last[0]}")
    return {name: values.get(name, "") for name in CONFIG_NAMES}


def settings_table(versions: dict[str, Path], **env: str | None) -> list[dict[str, str]]:
    """One row per setting, one column per version."""
    found = {name: gunicorn_settings(target, **env) for name, target in versions.items()}
    return [{"setting": setting, **{name: values[setting] for name, values in found.items()}}
            for setting in CONFIG_NAMES]


def throughput_by_workers(serve, path: str, workers: list[int], *, users: int = 16,
                          seconds: int = 6, label: str = "") -> list[dict[str, Any]]:
    """locust on ``path`` of what ``serve(workers=N)`` serves, for each N in ``workers``."""
    rows = []
    for count in workers:
        with serve(workers=count) as base:
            measured = load.locust(base, path, users=users, seconds=seconds)
        rows.append({"name": f"{label or path}, {count} worker(s)", "view": label or path,
                     "workers": count, **measured})
        print(f"  {label or path}: {count} worker(s): {measured['req_per_s']} req/s", flush=True)
    return rows


def page_while_carrier(base: str, path: str, carrier, behaviours: list[tuple[str, dict]],
                       *, version: str, give_up: float = 20) -> list[dict[str, Any]]:
    """``path`` asked once per behaviour of the carrier's quote service (``mode``,
    ``delay_ms``, or ``down``): the status, the seconds and what the page said; a page
    that has not answered after ``give_up`` seconds is "no answer"."""
    rows = []
    for label, behaviour in behaviours:
        if behaviour.get("down"):
            carrier.stop()
        else:
            carrier.behave(**behaviour)
        started = time.monotonic()
        try:
            page = fetch(base + path, timeout=give_up)
            status: int | str = page.status
            body = page.decoded().decode("utf-8", "replace")
        except TimeoutError:
            status, body = f"no answer in {give_up:g} s", ""
        took = time.monotonic() - started
        said = ("the price" if 'class="shipping-quote"' in body
                else "price unavailable" if "shipping-quote-unavailable" in body
                else "an error page" if body else "nothing")
        rows.append({"name": f"{version}: {label}", "version": version, "carrier": label,
                     "status": status,
                     "seconds": round(took, 2), "page says": said})
        print(f"  {version}, carrier {label}: {status} in {took:.1f} s", flush=True)
    return rows


@contextlib.contextmanager
def private_carrier(**behaviour: Any) -> Iterator[Any]:
    """The course's shipping-quote service in a process of its own, its control file in a
    temporary folder that goes with it."""
    from course.services import quotes

    with tempfile.TemporaryDirectory(prefix="course-carrier-") as folder:
        with quotes.PrivateServer(Path(folder)).start(**behaviour) as carrier:
            yield carrier


def under_load(runs: list[tuple[str, Path, bool]], path: str, *, carrier_ms: int = 500,
               users: int = 50, seconds: int = 8, workers: int = 2) -> list[dict[str, Any]]:
    """``path`` under load for each ``(name, project state, asgi)``, each with 2 workers and a
    carrier of its own answering in ``carrier_ms``: throughput, latency, and the most
    requests the carrier held at once."""
    rows = []
    for name, target, asgi in runs:
        with private_carrier(delay_ms=carrier_ms) as carrier, load.serve_state(
                target, workers=workers, probe_path="/products/", asgi=asgi,
                extra_env={"SHIPPING_QUOTES_URL": carrier.url}) as base:
            carrier.reset_stats()
            measured = load.locust(base, path, users=users, seconds=seconds)
            held = carrier.stats()["in_flight_max"]
        rows.append({"name": name, "server": "ASGI (uvicorn workers)" if asgi else
                     "WSGI (sync workers)", **measured, "carrier_held_at_once": held})
        print(f"  {name}: {measured['req_per_s']} req/s, carrier held {held} at once",
              flush=True)
    return rows


FLOOR_ASGI = "course.measuring.floor_app:asgi_application"
BASELINE = "gunicorn, sync workers"


def server_commands(workers: int, port: int) -> dict[str, list[str]]:
    """The servers compared, each serving the trivial views (``course.measuring.floor_app``)
    with ``workers`` processes on ``port``, logging warnings only (and granian once with its
    access log, to show what that costs). uvicorn alone runs its
    plain stack (asyncio and h11), to show what ``uvicorn[standard]``'s uvloop and httptools
    bring to uvicorn's workers under gunicorn."""
    def gunicorn(app: str, *extra: str) -> list[str]:
        return load.gunicorn_command(app, port, workers=workers, extra_args=extra)

    python = [sys.executable, "-m"]
    granian = [*python, "granian", "--workers", str(workers), "--host", "127.0.0.1",
               "--port", str(port), "--no-ws", "--log-level", "warning"]
    return {
        BASELINE: gunicorn(load.FLOOR_APP),
        "gunicorn, gthread workers (4 threads)": gunicorn(load.FLOOR_APP, "--worker-class",
                                                          "gthread", "--threads", "4"),
        "gunicorn, uvicorn workers (ASGI)": gunicorn(FLOOR_ASGI, "--worker-class",
                                                     load.ASGI_WORKER),
        "uvicorn, asyncio + h11 (ASGI)": [*python, "uvicorn", "--workers", str(workers),
                                          "--host", "127.0.0.1", "--port", str(port),
                                          "--loop", "asyncio", "--http", "h11",
                                          "--no-access-log", "--log-level", "warning",
                                          FLOOR_ASGI],
        "granian (WSGI)": [*granian, "--interface", "wsgi", load.FLOOR_APP],
        "granian (WSGI), access log on": [*granian, "--interface", "wsgi", "--access-log",
                                          load.FLOOR_APP],
        "granian (ASGI)": [*granian, "--interface", "asgi", FLOOR_ASGI],
    }


def compare_servers(views: dict[str, str], *, workers: int = 2, users: int = 16,
                    seconds: int = 5, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Each server of :func:`server_commands` (or those in ``names``) under the same locust
    load on each of ``views`` (a label and a path of the floor app: ``/``,
    ``/sleep/?seconds=0.1``), one after the other: a row per server and view, with its
    throughput as a ratio to gunicorn's sync workers on the same view."""
    env = load.floor_env()
    rows = []
    for name in names or list(server_commands(workers, 0)):
        port = services.free_port()
        with load.serve_command(server_commands(workers, port)[name], env, cwd=paths.ROOT,
                                port=port) as (base, _):
            for view, path in views.items():
                measured = load.locust(base, path, users=users, seconds=seconds)
                rows.append({"name": f"{name}: {view}", "server": name, "view": view,
                             "workers": workers, **measured})
                print(f"  {name}, {view}: {measured['req_per_s']} req/s", flush=True)
    baseline = {row["view"]: row["req_per_s"] for row in rows if row["server"] == BASELINE}
    for row in rows:
        base_rate = baseline.get(row["view"])
        row["vs_gunicorn_sync"] = round(row["req_per_s"] / base_rate, 2) if base_rate else None
    return rows


def processes_answering(base: str, path: str, *, requests: int = 96,
                        at_once: int = 16) -> set[str]:
    """The worker processes a server answers ``path`` from (a view that names its process, as
    the floor's ``/pid/?seconds=0.05``), asked ``requests`` times, ``at_once`` at a time, each
    on a new connection: a busy worker leaves the next connection to the others, so every
    worker shows up. A worker recycled meanwhile (``max_requests``) is not counted: only
    processes still alive afterwards are."""
    import psutil

    def ask(_: int) -> str:
        return fetch(base + path, timeout=30).body.decode().strip()

    with ThreadPoolExecutor(at_once) as pool:
        answered = set(pool.map(ask, range(requests)))
    return {pid for pid in answered if pid.isdigit() and psutil.pid_exists(int(pid))}
