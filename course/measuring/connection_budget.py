"""Database connections when the shop scales out (chapter 11): how many a project's settings
may hold at once across instances, computed, and how many it held and opened under load,
measured, against PostgreSQL's ``max_connections``::

    from course.measuring import connection_budget
    rows = connection_budget.compare({"yours": project, "reference": reference})

Each project runs as ``instances`` instances started from its Procfile, ``workers``
processes each, with its production settings, on a scratch PostgreSQL database with the
tiny shop (your own data is never touched); a visitor crowd loads every instance at once
while PostgreSQL's own view of its sessions is read twenty times a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from course.measuring import connections, load, procfile, visits

PAGE = "/orders/"  # a page that queries on every visit (the catalogue is served from copies)
MARK = "@@course-connections@@"
SETTINGS_PROBE = f"""
import json
import django
django.setup()
from django.conf import settings
print({MARK!r} + json.dumps({{
    alias: {{"engine": database["ENGINE"], "max_age": database.get("CONN_MAX_AGE", 0),
             "pool": (database.get("OPTIONS") or {{}}).get("pool")}}
    for alias, database in settings.DATABASES.items()}}))
"""
PSYCOPG_POOL_MIN = 4  # psycopg_pool's default min_size; max_size defaults to min_size


def per_process(databases: dict[str, dict[str, Any]]) -> tuple[int | None, str]:
    """The most PostgreSQL connections one server process may hold at once under these
    DATABASES (None: the settings set no bound), and how that was counted. A pool holds up
    to its ``max_size``. Without one, Django holds a connection per thread serving a
    request, so the app server's concurrency is the only bound (granian and gthread workers
    run several requests at once in a process), kept between requests with
    ``CONN_MAX_AGE``, opened anew for each without."""
    total: int | None = 0
    words = []
    for alias, database in databases.items():
        if "postgresql" not in database["engine"]:
            continue
        pool = database.get("pool")
        if pool:
            settings = pool if isinstance(pool, dict) else {}
            size = settings.get("max_size") or settings.get("min_size") or PSYCOPG_POOL_MIN
            words.append(f"{alias}: a pool of {size}")
            total = None if total is None else total + size
        else:
            kept = database.get("max_age")
            words.append(f"{alias}: one per request in flight, " + (
                "kept" if kept is None or kept > 0 else "opened anew for each"))
            total = None
    return total, "; ".join(words)


def server_limits(url: str) -> dict[str, int]:
    """PostgreSQL's ``max_connections`` and the slots it keeps for superusers and roles with
    ``pg_use_reserved_connections``: what is left for the applications."""
    with connections._admin(url) as admin:
        values = {name: int(admin.execute(f"SHOW {name}").fetchone()[0]) for name in
                  ("max_connections", "superuser_reserved_connections",
                   "reserved_connections")}
    values["for_applications"] = (values["max_connections"]
                                  - values["superuser_reserved_connections"]
                                  - values["reserved_connections"])
    return values


def _settings(target: Path, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    done = subprocess.run([sys.executable, "-c", SETTINGS_PROBE], cwd=target, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if not lines:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise RuntimeError(f"{target}: its production settings did not load: {' '.join(last)}")
    return json.loads(lines[-1][len(MARK):])


class _Watch:
    """Client sessions on one database, read twenty times a second in a thread."""

    def __init__(self, url: str) -> None:
        self.name = urlsplit(url).path.lstrip("/")
        self.url = url
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with connections._admin(self.url) as admin:
            while not self._stop.is_set():
                count = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                    "backend_type = 'client backend'", [self.name]).fetchone()[0]
                self.peak = max(self.peak, count)
                time.sleep(0.05)

    def __enter__(self) -> _Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def _instances(target: Path, url: str, count: int, workers: int
               ) -> Iterator[tuple[list[str], dict[str, str]]]:
    """``count`` instances of ``target`` from its Procfile, on the database at ``url``."""
    with visits.production_ready(target, database_url=url) as env, ExitStack() as stack:
        bases = [stack.enter_context(procfile.serve(target, env, workers=workers,
                                                    probe_path=PAGE, within=60))[0]
                 for _ in range(count)]
        yield bases, env


def measure_one(name: str, target: Path, *, instances: int, workers: int, users: int,
                seconds: int) -> dict[str, Any]:
    with connections.scratch_database(target) as url, \
            _instances(target, url, instances, workers) as (bases, env):
        databases = _settings(target, env)
        each, counted = per_process(databases)
        limits = server_limits(url)
        before = connections.sessions(url)
        with _Watch(url) as watch, ThreadPoolExecutor(len(bases)) as pool:
            runs = list(pool.map(lambda base: load.locust(
                base, PAGE, users=max(1, users // len(bases)), seconds=seconds), bases))
        opened = connections.sessions(url) - before
    requests = sum(int(run["requests"] or 0) for run in runs)
    return {
        "name": name,
        "per_process": str(each) if each is not None else "no bound",
        "counted": counted,
        "processes": instances * workers,
        "at_most": str(each * instances * workers) if each is not None else "no bound",
        "peak_held": watch.peak,
        "opened": opened,
        "requests": requests,
        "failures": sum(int(run["failures"] or 0) for run in runs),
        "req_per_s": round(sum(float(run["req_per_s"] or 0) for run in runs), 1),
        "for_applications": limits["for_applications"],
        "instances_that_fit": (str(limits["for_applications"] // (each * workers)) if each
                               else "no bound to count with"),
    }


def compare(states: dict[str, Path], *, instances: int = 2, workers: int = 2,
            users: int = 16, seconds: int = 5) -> list[dict[str, Any]]:
    """Each state as ``instances`` × ``workers`` under the same load on :data:`PAGE`: the
    connections its settings may hold (``at_most``: processes × what each may hold), the
    most it held at once and how many it opened, and how many such instances fit in what
    PostgreSQL's ``max_connections`` leaves for applications."""
    rows = []
    for name, target in states.items():
        print(f"  {name}: {instances} instances × {workers} workers under load …", flush=True)
        rows.append(measure_one(name, target, instances=instances, workers=workers,
                                users=users, seconds=seconds))
    return rows
