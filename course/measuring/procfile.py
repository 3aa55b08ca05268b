"""A project's ``Procfile``: the command a platform (Heroku, Dokku, honcho …) starts for each
process type, ``web: granian … config.wsgi:application``. Chapter 08 declares the
production server there; this module reads the ``web`` line and serves the project with it,
as a platform would: ``PORT`` and ``WEB_CONCURRENCY`` in the environment, the command run by
a POSIX shell in the project's folder, the virtual environment's programs on ``PATH``::

    with procfile.serve(target, env, workers=2, probe_path="/products/") as (base, server):
        ...
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from course import services
from course.measuring import load

# "web: command", as Heroku and honcho read it; other lines (comments) are not processes
PROCESS_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+?)\s*$")


class ProcfileError(load.LoadError):
    """No Procfile, or no line for the process asked: the message says which."""


def processes(target: Path) -> dict[str, str]:
    """Every process type of ``target``'s Procfile and its command."""
    path = target / "Procfile"
    if not path.exists():
        raise ProcfileError(f"{path} does not exist: it names the command that starts the site")
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PROCESS_LINE.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def command(target: Path, process: str = "web") -> str:
    """The command ``target``'s Procfile gives for ``process``."""
    found = processes(target)
    if process not in found:
        raise ProcfileError(f"{target / 'Procfile'} has no `{process}:` line "
                            f"(it has: {', '.join(found) or 'none'})")
    return found[process]


def program(target: Path, process: str = "web") -> str:
    """The program ``process`` runs: the first word of its command, or of the part after the
    last ``exec`` when the line sets things up first (``export … && exec granian …``)."""
    line = command(target, process)
    words = line.rsplit("exec ", 1)[-1].split() if "exec " in line else line.split()
    return words[0] if words else line


def environment(env: dict[str, str], *, port: int, workers: int) -> dict[str, str]:
    """``env`` as a platform completes it for a web process: its port, its worker count, and
    this Python's programs (gunicorn, granian, uvicorn) first on ``PATH``."""
    scripts = str(Path(sys.executable).parent)
    return {**env, "PORT": str(port), "WEB_CONCURRENCY": str(workers),
            "PATH": os.pathsep.join([scripts, env.get("PATH", os.defpath)])}


@contextmanager
def serve(target: Path, env: dict[str, str], *, workers: int = 2, probe_path: str = "/",
          process: str = "web", within: float = 60, port: int | None = None
          ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``target``'s ``process`` from its Procfile on ``port`` (a free one by default);
    yield its base URL and its process (the shell) once ``probe_path`` answers; stop it, and
    all it started, afterwards."""
    port = port or services.free_port()
    with load.serve_command(command(target, process), environment(env, port=port,
                            workers=workers), cwd=target, port=port, probe_path=probe_path,
                            within=within) as served:
        yield served
