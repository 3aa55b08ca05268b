"""Measure the shop's pages for any project state, each in its own process.

One kernel can only import one version of the shop, so comparing your
``starter_project/`` with a reference state runs each measurement in a
fresh interpreter on its own copy of the same database, and returns the
numbers as :class:`course.measuring.measure.PageMeasurement` objects::

    from course.measuring import bench
    rows = bench.compare_states(reference_through="01")
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from course import paths
from course.measuring.measure import PageMeasurement, compare
from course.project import commands

MARK = "@@course-bench@@"


class BenchError(RuntimeError):
    """Measuring could not start or finish: the message says why."""


def _postgres_url() -> str:
    from course import envfile

    url = os.environ.get("POSTGRES_URL") or envfile.read().get("POSTGRES_URL")
    if not url:
        raise BenchError("PostgreSQL is not set up: run `python3 -m course services up "
                           "--postgres` (and seed it: COURSE_DB=postgres python3 -m course lab)")
    return url


def _close_own_connections() -> None:
    """A notebook calling bench holds a connection to the database being copied: close it
    (Django reconnects on the next query)."""
    if "django.db" not in sys.modules:
        return
    from django.conf import settings
    from django.db import connections

    if settings.configured:
        connections.close_all()


def on_database(url: str, name: str) -> str:
    """The PostgreSQL URL ``url`` with its database replaced by ``name`` (same server, user)."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def postgres_copy(source_url: str) -> Iterator[str]:
    """A scratch copy of the PostgreSQL database at ``source_url`` (``CREATE DATABASE …
    TEMPLATE``), dropped afterwards; yields its URL."""
    import psycopg

    _close_own_connections()
    source = urlsplit(source_url).path.lstrip("/")
    name = f"bench_{os.getpid()}_{next(_copies)}"
    admin = on_database(source_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        try:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        except psycopg.errors.ObjectInUse as error:
            raise BenchError(
                f"PostgreSQL cannot copy the {source} database while something is connected to "
                "it (a notebook kernel using COURSE_DB=postgres?): shut those kernels down "
                "and try again"
            ) from error
    try:
        yield on_database(source_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_copies = itertools.count(1)
BENCH_REDIS_DB = 14


def _scratch_redis() -> dict[str, str]:
    """An empty Redis database (14) for a measured project: it neither reads pages the
    learner's own server cached nor leaves entries in the learner's database."""
    from course import services

    scratch = services.redis_url(BENCH_REDIS_DB)
    if not scratch:
        return {}
    try:
        import redis

        redis.Redis.from_url(scratch).flushdb()
    except Exception:  # noqa: BLE001 - no Redis: a project that needs it will say so
        pass
    # Tasks a measured page sends (14.5's page views) wait there, for no worker: never in the
    # learner's broker, where their own worker would run thousands of them.
    return {"REDIS_URL": scratch, "CELERY_BROKER_URL": scratch, "CELERY_RESULT_BACKEND": scratch}


@contextmanager
def _collector() -> Iterator[dict[str, str]]:
    """An analytics collector of the measurement's own, as the course's ``analytics`` service
    starts (0.3 s an event): the page that waits for it shows that cost in every run, whatever
    the learner last told their own collector to do (hang, say)."""
    from course.services import quotes

    with tempfile.TemporaryDirectory(prefix="bench-collector-") as folder:
        try:
            server = quotes.PrivateServer(Path(folder)).start()
        except (OSError, RuntimeError):  # not started: pages send no events
            yield {"ANALYTICS_URL": ""}
            return
        with server:
            yield {"ANALYTICS_URL": server.url}


@contextmanager
def _database_for(db: str, database: Path | None,
                  database_url: str | None = None) -> Iterator[dict[str, str]]:
    """Environment variables pointing a project at a scratch copy of the learner's data (or
    at ``database_url``, a scratch database of the caller's own)."""
    if database_url:
        yield {"DATABASE_URL": database_url}
        return
    if db == "postgres":
        with postgres_copy(_postgres_url()) as url:
            yield {"DATABASE_URL": url}
        return
    database = database or commands.learner_sqlite()
    if not database.exists():
        raise BenchError(
            f"no database at {database}: run `python3 -m course lab` (or seed_shop) first"
        )
    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        copy = Path(tmp) / "bench.sqlite3"
        shutil.copy(database, copy)
        yield {"COURSE_SQLITE_PATH": str(copy), "COURSE_DB": "sqlite"}


@contextmanager
def migrated_copy(target: Path, *, database: Path | None = None, db: str | None = None,
                  database_url: str | None = None) -> Iterator[dict[str, str]]:
    """The environment that runs ``target`` on a migrated scratch copy of the learner's
    data, with an empty Redis database of its own (its cache and its broker) and an analytics
    collector of its own.

    ``db="sqlite"`` copies ``database`` (default: the course's SQLite file);
    ``db="postgres"`` copies the course's PostgreSQL database; by default, the one
    the learner's project uses. ``database_url`` names a scratch database of the caller's
    own, already migrated, used as it is.
    """
    with _database_for(db or commands.learner_db(), database, database_url) as extra, \
            _collector() as collector:
        extra.update(_scratch_redis())
        extra.update(collector)
        # The replica (11.4) copies the learner's database, not this scratch copy: none here
        # unless a measurement passes the copy's own (``replicas``).
        extra["DATABASE_REPLICA_URL"] = ""
        if not database_url:
            try:  # quietly: the project's own logging (slow statements …) is not news here
                commands.manage("migrate", "--no-input", "-v0", target=target, capture=True,
                                **extra)
            except subprocess.CalledProcessError as error:
                last = (error.stderr or error.stdout or "no output").strip().splitlines()[-1:]
                raise RuntimeError(f"migrating a copy of your data for {target} failed: "
                                   f"{' '.join(last)}") from None
        yield commands.manage_env(target, **extra)


def run_child(command: list[str], env: dict[str, str], what: str, mark: str, *,
              report: Callable[[str], None] | None = print, label: str = "") -> str:
    """Run a measuring child process and return the text after ``mark`` on its stdout.

    Lines it writes to stderr starting with ``[`` are progress ("[3/14] order list"),
    passed to ``report`` as they come, so a long run is never silent; anything else on
    stderr is kept for the error, the last line of which a failure names."""
    # The results go to a file (a pipe nobody reads while stderr streams could fill).
    with tempfile.TemporaryFile("w+", encoding="utf-8") as results, subprocess.Popen(
            command, env=env, stdout=results, stderr=subprocess.PIPE, text=True) as child:
        assert child.stderr is not None
        errors: list[str] = []
        for line in child.stderr:
            if line.startswith("[") and report:
                report(f"  {label} {line.rstrip()}" if label else line.rstrip())
            else:
                errors.append(line)
        code = child.wait()
        results.seek(0)
        output = results.read()
    if code != 0:
        last = ("".join(errors) or output).strip().splitlines()[-1:]
        raise BenchError(f"{what} failed: {' '.join(last)}")
    found = next((ln for ln in output.splitlines() if ln.startswith(mark)), None)
    if found is None:
        raise BenchError(f"{what} gave no result")
    return found[len(mark):]


def measure_state(
    target: Path, *, database: Path | None = None, repeat: int = 3,
    pages: list[str] | None = None, db: str | None = None, label: str = "",
    report: Callable[[str], None] | None = print,
) -> list[PageMeasurement]:
    """Measure the shop's pages for ``target`` on a migrated copy of the learner's data.

    Each page measured is passed to ``report`` as it happens ("yours [3/14] order list"),
    so a long run is never silent."""
    with migrated_copy(target, database=database, db=db) as env:
        command = [sys.executable, "-m", "course.measuring.bench", "--target", str(target),
                   "--repeat", str(repeat), *(["--pages", *pages] if pages else [])]
        line = run_child(command, env, f"measuring {target}", MARK,
                         report=report, label=label)
    return [PageMeasurement(**row) for row in json.loads(line)]


def compare_states(
    *, reference_through: str | None = None, repeat: int = 3, pages: list[str] | None = None,
    db: str | None = None,
) -> list[dict]:
    """Your starter against a reference state, on the same data: rows for tables and charts."""
    from course import catalog
    from course.project import states

    cat = catalog.load()
    reference = states.reference_state(cat, reference_through or states.final_chapter(cat))
    yours = measure_state(paths.STARTER, repeat=repeat, pages=pages, db=db, label="yours")
    theirs = measure_state(reference, repeat=repeat, pages=pages, db=db, label="reference")
    return compare(yours, theirs, sides=("yours", "reference"))


def _child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m course.measuring.bench")
    parser.add_argument("--target", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pages", nargs="*")
    args = parser.parse_args(argv)
    from course.measuring import measure
    from course.measuring.pages import shop_pages
    from course.project.runtime import configure

    configure(args.target)
    pages = shop_pages()
    if args.pages:
        pages = {name: url for name, url in pages.items() if name in args.pages}
    results = measure.measure_pages(pages, repeat=args.repeat, progress_to=sys.stderr)
    rows = [dataclasses.asdict(m) | {"sql": []} for m in results]
    print(MARK + json.dumps(rows, default=list))


if __name__ == "__main__":
    _child(sys.argv[1:])
