"""A read replica, measured (chapter 11, 11.4): how far behind the primary it is, what a read
right after a write finds there, and what a project's pages do about it::

    from course.measuring import replicas
    found = replicas.read_after_write()                     # the database alone
    rows = replicas.landing_pages({"yours": project, "reference": reference})

Both start the course's PostgreSQL and its replica (``services up replica``), which
applies each change 1 s after the primary committed it. The project's pages run on a
scratch copy of the tiny shop (``connections.scratch_database``), so your own data is
never touched.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from course.measuring import bench

BATCH = 40  # rows written one commit each, then read back
READ_AFTER = (0.0, 0.5, 1.5)  # seconds after the last commit of a batch
LAG_SAMPLES = 5
CAUGHT_UP_WITHIN = 30.0


class ReplicaError(RuntimeError):
    """The replica did not show what the primary has in time."""


def on_replica(url: str, replica_url: str) -> str:
    """The database of ``url`` (on the primary) on the replica's server."""
    replica = urlsplit(replica_url)
    return urlunsplit(urlsplit(url)._replace(netloc=replica.netloc))


def replicated(url: str, query: str, expected: Any, within: float = CAUGHT_UP_WITHIN) -> bool:
    """Whether ``query`` answers ``expected`` on the database at ``url`` (a replica's) within
    ``within`` seconds: a database, role or row made on the primary a moment ago may not be
    there yet, and connecting fails meanwhile."""
    import psycopg

    deadline = time.monotonic() + within
    conninfo = url.replace("postgres://", "postgresql://", 1)
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(conninfo, connect_timeout=2) as conn:
                row = conn.execute(query).fetchone()
                if row and row[0] == expected:
                    return True
        except psycopg.Error:
            pass
        time.sleep(0.1)
    return False


def urls() -> tuple[str, str]:
    """The course's PostgreSQL and its replica, started if they are not: their URLs."""
    from course import envfile, services

    services.up(["replica"], quiet=True)
    values = envfile.read()
    return values["POSTGRES_URL"], values["DATABASE_REPLICA_URL"]


def _superuser(url: str) -> str:
    """The server of ``url``, as its superuser, in its ``postgres`` database."""
    return bench.on_database(url, "postgres").replace("shop:shop@", "postgres@")


def _admin(url: str):
    import psycopg

    return psycopg.connect(_superuser(url), autocommit=True)


def read_after_write(batch: int = BATCH) -> dict[str, Any]:
    """Write ``batch`` rows on the primary, one commit each, then read them back: from the
    replica at once, half a second and a second and a half later, and from the primary at
    once (what pinning a visitor to the primary does). ``reads``: one row per read, with how
    many of the rows it missed; ``lag_s``: the replica's lag, the median over a few writes
    of the time from a commit until the replica shows it."""
    primary_url, replica_url = urls()
    table = "course_replica_probe"
    with _admin(primary_url) as primary:
        primary.execute(f"CREATE TABLE IF NOT EXISTS {table} (id bigserial PRIMARY KEY)")
    if not replicated(_superuser(replica_url), f"SELECT to_regclass('{table}') IS NOT NULL",
                      True):
        raise ReplicaError("the replica never showed a table made on the primary: is it "
                           "streaming? (python3 -m course services status)")
    rows: list[dict[str, Any]] = []
    with _admin(primary_url) as primary, _admin(replica_url) as replica:
        def missing(conn, ids: list[int]) -> int:
            found = conn.execute(f"SELECT count(*) FROM {table} WHERE id = ANY(%s)",
                                 [ids]).fetchone()[0]
            return len(ids) - found

        def write() -> list[int]:
            return [primary.execute(f"INSERT INTO {table} DEFAULT VALUES RETURNING id")
                    .fetchone()[0] for _ in range(batch)]

        ids = write()
        written = time.monotonic()
        rows.append({"name": "the primary, at once", "missed": missing(primary, ids),
                     "of": batch})
        for after in READ_AFTER:
            time.sleep(max(0.0, written + after - time.monotonic()))
            rows.append({"name": f"the replica, {after:g} s after the write" if after else
                         "the replica, at once", "missed": missing(replica, ids), "of": batch})
        lags = []
        for _ in range(LAG_SAMPLES):
            row_id = primary.execute(f"INSERT INTO {table} DEFAULT VALUES RETURNING id"
                                     ).fetchone()[0]
            started = time.monotonic()
            while missing(replica, [row_id]):
                if time.monotonic() - started > CAUGHT_UP_WITHIN:
                    raise ReplicaError("a row written on the primary never reached the replica")
                time.sleep(0.005)
            lags.append(time.monotonic() - started)
        primary.execute(f"TRUNCATE {table}")
    for row in rows:
        row["missed_pct"] = round(100 * row["missed"] / row["of"])
    return {"reads": rows, "lag_s": round(statistics.median(lags), 3)}


def _new_product(url: str) -> str:
    """A copy of the first product, put on sale on the primary now: its slug."""
    import psycopg

    slug = f"replica-probe-{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        columns = [name for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = "
            "'shop_product' AND column_name NOT IN ('id', 'slug', 'name') "
            "ORDER BY ordinal_position").fetchall()]
        listed = ", ".join(f'"{name}"' for name in columns)
        conn.execute(f'INSERT INTO shop_product ({listed}, slug, name) SELECT {listed}, %s, %s '
                     "FROM shop_product ORDER BY id LIMIT 1", [slug, slug])
    return slug


def _first_value(url: str, query: str, params: list[Any] | None = None) -> Any:
    """What ``query`` answers first on the database at ``url``."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        return conn.execute(query, params).fetchone()[0]


def _order_again(base: str, customer: int) -> tuple[int, str, float]:
    """A new visitor presses "Order again" on the customer's dashboard: the status of the page
    landed on, its HTML, and the seconds from the press to the page."""
    from course.measuring.dashboard_html import listed_orders, order_again
    from course.measuring.visitor import Visitor

    visitor = Visitor()
    status, page, _ = visitor.ask(f"{base}/customers/{customer}/")
    html = page.decode("utf-8", "replace")
    listed = listed_orders(html)
    press = order_again(html, listed[0]) if status == 200 and listed else None
    if press is None:
        return status, html, 0.0
    started = time.monotonic()
    status, page, _ = visitor.ask(base + press.action, press.data)
    return status, page.decode("utf-8", "replace"), time.monotonic() - started


def _pages_of(target: Path, orders: int, strangers: int,
              progress: Callable[[str], None]) -> dict[str, Any]:
    from course import services
    from course.measuring import connections, queueing
    from course.measuring.dashboard_html import listed_orders
    from course.measuring.visitor import Visitor
    from course.measuring.visits import serve_production

    _, replica_url = urls()
    with connections.scratch_database(target) as url:
        copy = on_replica(url, replica_url)
        orders_now = _first_value(url, "SELECT count(*) FROM shop_order")
        if not replicated(copy, "SELECT count(*) FROM shop_order", orders_now):
            raise ReplicaError("the replica never showed the scratch database's orders")
        broker = services.redis_url(queueing.BROKER_DB) or ""
        env = {"DATABASE_REPLICA_URL": copy, "CELERY_BROKER_URL": broker,
               "CELERY_RESULT_BACKEND": broker}
        customer = _first_value(url, "SELECT customer_id FROM shop_order ORDER BY id LIMIT 1")
        missed = failed = 0
        seconds = []
        stale = 0
        with serve_production(target, workers=1, database_url=url, extra_env=env) as base:
            for number in range(orders):
                progress(f"order {number + 1} of {orders}")
                status, html, took = _order_again(base, customer)
                if status != 200:
                    failed += 1
                    continue
                seconds.append(took)
                newest = _first_value(url, "SELECT max(id) FROM shop_order WHERE "
                                      "customer_id = %s", [customer])
                missed += newest not in listed_orders(html)
            for _ in range(strangers):
                slug = _new_product(url)
                status, _, _ = Visitor().ask(f"{base}/products/{slug}/")
                stale += status == 404
        queueing._broker(flush=True)
    return {"orders": orders, "failed": failed, "landing_without_order": missed,
            "landing_ms": round(1000 * statistics.median(seconds)) if seconds else None,
            "stranger_reads_replica": f"{stale} of {strangers}"}


@contextmanager
def file_variant(project: Path, rel: str, replacements: dict[str, str]) -> Iterator[Path]:
    """A copy of ``project`` whose file ``rel`` has each text of ``replacements`` replaced
    (one missing is an error): the same project with one change."""
    from course.measuring.balancing import replaced_text

    source = Path(project)
    text = replaced_text(source / rel, replacements)
    with tempfile.TemporaryDirectory(prefix="course-variant-") as scratch:
        copy = Path(scratch) / source.name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns(
            "__pycache__", ".course", "media", "static_root"))
        (copy / rel).write_text(text, encoding="utf-8")
        yield copy


def landing_pages(states: dict[str, Path], *, orders: int = 6, strangers: int = 4
                  ) -> list[dict[str, Any]]:
    """Each state served with its production settings and the replica configured
    (``DATABASE_REPLICA_URL``): ``orders`` times a customer presses "Order again", and the
    page they land on is checked for the new order; then ``strangers`` visitors who wrote
    nothing ask for a product put on sale a moment before (a 404 means their page was read
    from the replica, which does not have it yet)."""
    rows = []
    for name, target in states.items():
        def progress(step: str, name: str = name) -> None:
            print(f"  {name}: {step} …", end="\r", flush=True)

        rows.append({"name": name, **_pages_of(target, orders, strangers, progress)})
        print(" " * 60, end="\r")
    return rows
