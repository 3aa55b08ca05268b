"""Database connections under a real app server, on PostgreSQL (chapter 08): what opening one
costs, how many a page's requests open with each way of keeping them, and what a runaway
query does with and without a statement timeout::

    from course.measuring import connections
    rows = connections.compare_setups(project, users=8, seconds=5)

Every measurement runs the project with its production settings under gunicorn, on a
scratch PostgreSQL database with the tiny shop (copied from a template kept while the
project's migrations last), so the learner's own data is never touched. The setups compared
replace the project's connection settings (``course.measuring.connection_settings``); the
row "yours" keeps them.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from course import paths, statefiles
from course.measuring import bench, load
from course.measuring.visits import fetch, serve_production
from course.project import commands

YOURS = "yours"
# Each setup's keys for DATABASES["default"], over Django's defaults; None: the project's own.
SETUPS: dict[str, dict[str, Any] | None] = {
    "a connection per request (CONN_MAX_AGE = 0)": {},
    "persistent (CONN_MAX_AGE = 600, checked)": {"CONN_MAX_AGE": 600,
                                                 "CONN_HEALTH_CHECKS": True},
    "Django's pool (1 to 4 per worker, checked)": {
        "CONN_HEALTH_CHECKS": True, "OPTIONS": {"pool": {"min_size": 1, "max_size": 4}}},
    YOURS: None,
}
DEFAULT = next(iter(SETUPS))
TEMPLATE_PREFIX = "course_measure_"
TEMPLATES_KEPT = 4
SEED_FILES = ["**/migrations/*.py", "shop/seed*.py", "shop/management/commands/seed_shop.py"]


def _server_url() -> str:
    from course import services

    services.up(["postgres"], quiet=True)
    return bench._postgres_url()


def _admin(server_url: str):
    import psycopg

    return psycopg.connect(bench.on_database(server_url, "postgres"), autocommit=True)


def _template(target: Path, server_url: str) -> str:
    """The name of a database holding ``target``'s tables and the tiny shop, made once per
    version of its migrations and seeding code."""
    name = TEMPLATE_PREFIX + statefiles.digest_files(target, SEED_FILES)[:16]
    lock = paths.STATE / "cache" / "measure-postgres.lock"
    with statefiles.locked(lock), _admin(server_url) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return name
        building = f"{name}_building"
        admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{building}"')
        url = bench.on_database(server_url, building)
        print("  making a PostgreSQL database with the tiny shop (once) …", flush=True)
        commands.manage("migrate", "--no-input", "-v0", target=target, capture=True,
                        DATABASE_URL=url)
        commands.manage("seed_shop", "--scale", "tiny", target=target, capture=True,
                        DATABASE_URL=url)
        admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        older = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s "
            "ORDER BY oid DESC", [TEMPLATE_PREFIX + "%", name]).fetchall()
        for (old,) in older[TEMPLATES_KEPT - 1:]:
            admin.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
    return name


@contextmanager
def scratch_database(target: Path) -> Iterator[str]:
    """A PostgreSQL database of its own with ``target``'s tables and the tiny shop: yields its
    URL; dropped afterwards."""
    server_url = _server_url()
    with bench.postgres_copy(bench.on_database(server_url, _template(target, server_url))) as url:
        yield url


def sessions(url: str) -> int:
    """Connections ever opened to the database at ``url`` (PostgreSQL counts them as they
    are made), read again until the count has stopped moving for half a second."""
    name = urlsplit(url).path.lstrip("/")
    last, since, deadline = -1, time.monotonic(), time.monotonic() + 5
    with _admin(url) as admin:
        while True:
            value = admin.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s",
                                  [name]).fetchone()[0]
            now = time.monotonic()
            if value != last:
                last, since = value, now
            elif now - since >= 0.5 or now > deadline:
                return value
            time.sleep(0.1)


def running_queries(url: str, *, cancel: bool = False) -> int:
    """Queries clients are running in the database at ``url``; with ``cancel``, cancelled
    too. PostgreSQL's own processes are left out: an autovacuum worker, analysing tables a
    grader has just filled, shows as an active session of that database too."""
    name = urlsplit(url).path.lstrip("/")
    with _admin(url) as admin:
        running = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND "
                                "state = 'active' AND backend_type = 'client backend'",
                                [name]).fetchall()
        for (pid,) in running if cancel else ():
            admin.execute("SELECT pg_cancel_backend(%s)", [pid])
        return len(running)


def _setup_env(setup: dict[str, Any] | None) -> dict[str, str]:
    env = {"DJANGO_SETTINGS_MODULE": "course.measuring.connection_settings"}
    if setup is not None:
        env["COURSE_CONNECTIONS"] = json.dumps(setup)
    return env


@contextmanager
def serve(target: Path, url: str, setup: dict[str, Any] | None, *, workers: int = 2,
          static_root: Path | None = None) -> Iterator[str]:
    """``target`` under gunicorn with its production settings and connections set up as
    ``setup`` says (None: its own), on the database at ``url``: yields the base URL.
    ``static_root``: where the static files collected for ``target`` are kept between
    calls."""
    with serve_production(target, workers=workers, database_url=url,
                          extra_env=_setup_env(setup), static_root=static_root) as base:
        yield base


def _first_product(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute("SELECT slug FROM shop_product WHERE is_active "
                                  "ORDER BY id LIMIT 1").fetchone()[0]


def compare_setups(target: Path, *, users: int = 8, seconds: int = 5, workers: int = 2,
                   setups: dict[str, dict[str, Any] | None] | None = None
                   ) -> list[dict[str, Any]]:
    """Each setup of :data:`SETUPS` under the same locust load, on a page that runs one
    query and on a product page: throughput, latency, and the connections PostgreSQL saw
    opened, with the ratio of each throughput to a connection per request's."""
    rows = []
    with scratch_database(target) as url, \
            tempfile.TemporaryDirectory(prefix="course-static-") as static_root:
        pages = {"one query": "/course-query/?seconds=0",
                 "product page": f"/products/{_first_product(url)}/"}
        for name, setup in (setups or SETUPS).items():
            with serve(target, url, setup, workers=workers,
                       static_root=Path(static_root)) as base:
                for page, path in pages.items():
                    fetch(base + path)  # each run starts with the page's caches warm
                    before = sessions(url)
                    measured = load.locust(base, path, users=users, seconds=seconds)
                    opened = sessions(url) - before
                    done = measured["requests"] or 1
                    rows.append({"name": f"{name}: {page}", "setup": name, "page": page,
                                 **measured, "connections_opened": opened,
                                 "per_1000_requests": round(1000 * opened / done, 1)})
                    print(f"  {name}, {page}: {measured['req_per_s']} req/s, {opened} "
                          "connections opened", flush=True)
    baseline = {row["page"]: row["req_per_s"] for row in rows if row["setup"] == DEFAULT}
    for row in rows:
        rate = baseline.get(row["page"])
        row["vs_per_request"] = round(row["req_per_s"] / rate, 2) if rate else None
    return rows


def runaway_query(target: Path, *, seconds: int = 30, wait: float = 12.0,
                  setups: dict[str, dict[str, Any] | None] | None = None
                  ) -> list[dict[str, Any]]:
    """A page whose query takes ``seconds``, asked once under each setup (default: Django's
    defaults and yours): what the client got within ``wait``, after how long, and whether
    the query was still running in the database afterwards."""
    rows = []
    chosen = setups or {DEFAULT: SETUPS[DEFAULT], YOURS: None}
    with scratch_database(target) as url, \
            tempfile.TemporaryDirectory(prefix="course-static-") as static_root:
        for name, setup in chosen.items():
            with serve(target, url, setup, workers=1, static_root=Path(static_root)) as base:
                started = time.monotonic()
                try:
                    answer: int | str = fetch(f"{base}/course-query/?seconds={seconds}",
                                              timeout=wait).status
                except OSError:
                    answer = f"none within {wait:g} s"
                took = time.monotonic() - started
                running = running_queries(url, cancel=True)  # frees the worker to stop
            rows.append({"name": name, "setup": name, "query_s": seconds, "answer": answer,
                         "seconds": round(took, 1), "still_running_in_database": running > 0})
            print(f"  {name}: {answer} after {took:.1f} s; still running in the database: "
                  f"{running > 0}", flush=True)
    return rows


def connect_costs(samples: int = 30) -> list[dict[str, Any]]:
    """What opening a connection and running one query costs, median of ``samples``: a
    SQLite file, and the course's PostgreSQL over TCP."""
    import psycopg

    def median_ms(connect) -> float:
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            connection = connect()
            connection.execute("SELECT 1").fetchone()
            connection.close()
            times.append((time.perf_counter() - started) * 1000)
        return round(statistics.median(times), 3)

    server_url = _server_url()
    with tempfile.TemporaryDirectory(prefix="course-connect-") as tmp:
        sqlite_ms = median_ms(lambda: sqlite3.connect(Path(tmp) / "connect.sqlite3"))
    postgres_ms = median_ms(lambda: psycopg.connect(bench.on_database(server_url, "postgres")))
    return [{"name": "SQLite (a file)", "database": "SQLite (a file)", "connect_and_query_ms":
             sqlite_ms},
            {"name": "PostgreSQL (TCP, 127.0.0.1)", "database": "PostgreSQL (TCP, 127.0.0.1)",
             "connect_and_query_ms": postgres_ms,
             "vs_sqlite": round(postgres_ms / sqlite_ms, 1) if sqlite_ms else None}]
