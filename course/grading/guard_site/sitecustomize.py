"""The guard of a learner graded in a room (``course grade``): loaded by every Python process
of that learner's grading (its folder is on their ``PYTHONPATH``), it refuses what no graded
project needs, and writes down each refusal.

Active only when ``COURSE_ROOM_GUARD`` names its JSON configuration::

    {"deny_read": [folders], "deny_write": [folders], "log": "refused.log"}

Refused: opening a file under a ``deny_read`` folder (the other learners' checkouts), writing
under a ``deny_write`` folder (the instructor's graders and course), and any connection or
address lookup that is not for this machine's loopback (``127.0.0.0/8``, ``::1``,
``localhost``). A Python audit hook (PEP 578) sees every ``open`` and ``socket.connect`` made
through Python, not what a C extension does on its own: it keeps honest mistakes and curious
code out of a room, and is not a sandbox.

Only the standard library: this module runs before anything else is importable.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import threading

_ACTIVE = threading.local()
WATCHED = frozenset({"open", "os.listdir", "os.scandir", "socket.connect", "socket.sendto",
                     "socket.getaddrinfo"})
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _under(path: str, folders: list[str]) -> bool:
    return any(path == folder or path.startswith(folder + os.sep) for folder in folders)


def _loopback(host: object) -> bool:
    if host is None:
        return True  # a lookup with no host: the local address
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _writing(mode: object, flags: object) -> bool:
    if isinstance(mode, str) and any(letter in mode for letter in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & WRITE_FLAGS)


def decide(event: str, args: tuple, config: dict) -> str | None:
    """What the event would do that a graded project may not, in words; None when allowed."""
    if event == "open":
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        if isinstance(path, int) or path is None:
            return None  # an open file descriptor
        path = os.path.realpath(os.fsdecode(path))
        if _under(path, config.get("deny_read", [])):
            return f"open {path}"
        if _writing(mode, flags) and _under(path, config.get("deny_write", [])):
            return f"write {path}"
        return None
    if event in {"os.listdir", "os.scandir"}:
        path = args[0] if args else None
        if isinstance(path, (str, bytes, os.PathLike)):
            path = os.path.realpath(os.fsdecode(path))
            if _under(path, config.get("deny_read", [])):
                return f"list {path}"
        return None
    if event in {"socket.connect", "socket.sendto"}:
        address = args[1] if len(args) > 1 else None
        if isinstance(address, tuple) and address and not _loopback(address[0]):
            return f"connect {address[0]}:{address[1] if len(address) > 1 else ''}"
        return None
    if event == "socket.getaddrinfo":
        host = args[0] if args else None
        if not _loopback(host):
            return f"look up {host!r}"
    return None


def install(config: dict) -> None:
    log = config.get("log")

    def hook(event: str, args: tuple) -> None:
        if event not in WATCHED:
            return
        if getattr(_ACTIVE, "busy", False):
            return
        _ACTIVE.busy = True
        try:
            refused = decide(event, args, config)
            if refused is None:
                return
            if log:
                with open(log, "a", encoding="utf-8") as out:
                    out.write(f"{os.getpid()} {refused}\n")
        finally:
            _ACTIVE.busy = False
        raise PermissionError(f"refused while graded in a room: {refused} (a graded project "
                              "reads only its own files and talks only to 127.0.0.1)")

    sys.addaudithook(hook)


def _load() -> None:
    path = os.environ.get("COURSE_ROOM_GUARD")
    if not path:
        return
    with open(path, encoding="utf-8") as source:
        install(json.load(source))


_load()
