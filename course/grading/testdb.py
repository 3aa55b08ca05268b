"""Test databases for the graders, made from a migrated template kept while migrations last.

Django builds a test database by running every migration, which costs each
``course check`` about as much as the check itself. The result depends only on
the migrations (the target project's and Django's own) and the database, so
the first run keeps it as a template, keyed by those; later runs copy it
(SQLite: a file copy; PostgreSQL: ``CREATE DATABASE … TEMPLATE``). A learner
who adds a migration gets a new key, so the graders still see exactly what the
learner's migrations build. Each run gets its own copy, so parallel runs never
share one.

Used from ``exercises_tests/conftest.py``, inside the graders' pytest process.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from course import paths, statefiles

KEEP = 8  # templates kept per database kind; older ones are removed
PREFIX = "course_tmpl_"


def _cache_dir() -> Path:
    folder = paths.STATE / "cache" / "testdb"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def template_key(target: Path, vendor: str) -> str:
    """What the migrated database depends on: Django, the apps, and every migration file."""
    import django
    from django.conf import settings

    parts = [django.get_version(), vendor, *settings.INSTALLED_APPS,
             statefiles.digest_files(target, ["**/migrations/*.py"])]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _build(connection, name: str) -> None:
    """Run the migrations into a database called ``name``, the way Django's test runner
    would, and leave it closed."""
    from django.conf import settings

    old_name = connection.settings_dict["NAME"]
    old_test = dict(connection.settings_dict.get("TEST") or {})
    connection.settings_dict["TEST"] = {**old_test, "NAME": name}
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    finally:
        connection.close()
        connection.settings_dict["TEST"] = old_test
        connection.settings_dict["NAME"] = old_name
        settings.DATABASES[connection.alias]["NAME"] = old_name


def _sqlite_clone(connection, key: str, test_name: str) -> None:
    template = statefiles.kept(_cache_dir(), f"{key}.sqlite3",
                               lambda path: _build(connection, str(path)), keep=KEEP)
    shutil.copyfile(template, test_name)


def _admin(connection):
    """A connection to the server's maintenance database, in autocommit."""
    import psycopg

    settings = connection.settings_dict
    return psycopg.connect(dbname="postgres", user=settings["USER"],
                           password=settings["PASSWORD"], host=settings["HOST"],
                           port=settings["PORT"], autocommit=True)


def _postgres_clone(connection, key: str, test_name: str) -> None:
    template = PREFIX + key
    with statefiles.locked(_cache_dir() / f".{key}.lock"), _admin(connection) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                               [template]).fetchone()
        if not exists:
            building = f"{template}_{os.getpid()}"
            _build(connection, building)
            admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
            stale = admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY oid DESC",
                [PREFIX + "%"]).fetchall()[KEEP:]
            for (name,) in stale:
                _drop_database(admin, name)
        _drop_database(admin, test_name)
        admin.execute(f'CREATE DATABASE "{test_name}" TEMPLATE "{template}"')


def _drop_database(admin, name: str, attempts: int = 8) -> None:
    """DROP DATABASE … WITH (FORCE), again a moment later while a session it may not end is
    still connected (the server refuses to end another role's or a superuser's session)."""
    import psycopg

    for attempt in range(attempts):
        try:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            if attempt == attempts - 1:
                raise
            time.sleep(0.25 * (attempt + 1))


def _drop(connection, test_name: str) -> None:
    if connection.vendor == "sqlite":
        Path(test_name).unlink(missing_ok=True)
    else:
        with _admin(connection) as admin:
            _drop_database(admin, test_name)


@contextmanager
def test_databases(target: Path, aliases: tuple[str, ...] = ("default",)) -> Iterator[None]:
    """Point each alias at a fresh copy of the migrated template for this run; drop the copies
    afterwards. A database the template cannot be made for (an unknown backend) falls back
    to Django's own set-up."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    made: list[tuple[object, str, str]] = []
    try:
        for alias in aliases:
            connection = connections[alias]
            if connection.vendor not in ("sqlite", "postgresql"):
                raise NotImplementedError(connection.vendor)
            old_name = connection.settings_dict["NAME"]
            test_name = connection.creation._get_test_db_name()
            key = template_key(target, connection.vendor)
            connection.close()
            if connection.vendor == "sqlite":
                _sqlite_clone(connection, key, test_name)
            else:
                _postgres_clone(connection, key, test_name)
            made.append((connection, old_name, test_name))
            settings.DATABASES[alias]["NAME"] = test_name
            connection.settings_dict["NAME"] = test_name
            call_command("createcachetable", database=alias)
            connection.ensure_connection()
        yield
    finally:
        for connection, old_name, test_name in made:
            connection.close()
            _drop(connection, test_name)
            settings.DATABASES[connection.alias]["NAME"] = old_name
            connection.settings_dict["NAME"] = old_name
