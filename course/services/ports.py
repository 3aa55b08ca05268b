"""Ports on 127.0.0.1: is one free, find a free one, and remember what each instance got.

Each instance keeps its port across restarts (``.course/run/ports.json``), so
the addresses in ``.course/env`` stay the same; a port that something else
took meanwhile is replaced by a free one, and the learner is told.

Several course homes on one machine (two checkouts, the parts of ``course
test``) may start services at the same moment: :func:`claiming` makes the
moments from choosing ports to the servers holding them one at a time across
the machine, so two homes never both find a port free and both take it.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path

from course import paths, statefiles


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int, avoiding: Iterable[int] = ()) -> list[int]:
    """``count`` different TCP ports on 127.0.0.1 that nothing listens on right now, none of
    them in ``avoiding`` (ports chosen for servers that have not started yet).

    Every socket stays bound until all are chosen: asked one at a time, the system may hand
    out the same free port twice.
    """
    unwanted = set(avoiding)
    held: list[socket.socket] = []
    chosen: list[int] = []
    try:
        while len(chosen) < count:
            sock = socket.socket()
            held.append(sock)
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
            if port not in unwanted:
                chosen.append(port)
    finally:
        for sock in held:
            sock.close()
    return chosen


def _ports_file():
    return paths.STATE / "run" / "ports.json"


def saved() -> dict[str, int]:
    data = statefiles.read_json(_ports_file(), {})
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}


def choose(wanted: dict[str, int], running: set[str], quiet: bool) -> dict[str, int]:
    """A port for each instance id in ``wanted`` (id → preferred port).

    An instance already running keeps its port; otherwise its saved port, else the
    preferred one, if free; else any free port.
    """
    known = saved()
    chosen: dict[str, int] = {}
    taken: set[int] = set()
    for instance_id, preferred in wanted.items():
        port = known.get(instance_id, preferred)
        if instance_id not in running and (port in taken or not port_is_free(port)):
            new_port = free_ports(1, avoiding=taken | set(known.values()))[0]
            if not quiet:
                print(f"course: port {port} for {instance_id} is busy; using {new_port} instead")
            port = new_port
        chosen[instance_id] = port
        taken.add(port)
    statefiles.write_json(_ports_file(), {**known, **chosen})
    return chosen


_claims = statefiles.ReentrantFileLock()


def claims_lock() -> Path:
    """The machine-wide lock file, one per user (every course home of that user shares it)."""
    return Path(tempfile.gettempdir()) / f"django-under-load-{os.getuid()}" / "ports.lock"


def claiming() -> AbstractContextManager[None]:
    """Hold the machine's port claims for the block: from choosing ports until the servers
    listen on them."""
    return _claims.held(claims_lock())
