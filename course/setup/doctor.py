"""``course doctor``: check the machine and say exactly what to fix.

Python, ``.venv``, what PyPI lacks for this kind of machine (``platforms``: run it before a
workshop, while there is time to install a compiler or a program), disk, the ports the
course wants, git, then every service in the registry: its own checks (is its binary there
for this platform?) and whether it answers now. Before the ``.venv`` exists, only the checks
the standard library can make.
"""

from __future__ import annotations

import shutil
import sys

from course import paths
from course.services.base import Finding, ServiceError, find_binary
from course.setup import bootstrap

MARKS = {"ok": "ok  ", "warn": "warn", "fix": "FIX "}


def _machine(installed: bool) -> list[Finding]:
    rows: list[Finding] = []
    version = ".".join(map(str, sys.version_info[:3]))
    good_python = sys.version_info >= bootstrap.MIN_PYTHON
    rows.append(Finding("ok" if good_python else "fix", "python",
                        version if good_python else f"{version}: install 3.11+"))
    if installed:
        rows.append(Finding("ok", ".venv", "installed from the current requirements.txt"))
    else:
        rows.append(Finding("fix", ".venv", "missing or stale: run `python3 -m course lab`"))
    rows.extend(_platform(installed=installed))
    free_gb = shutil.disk_usage(paths.ROOT).free / 1e9
    rows.append(Finding("ok" if free_gb > 2 else "fix", "disk",
                        f"{free_gb:.1f} GB free" + ("" if free_gb > 2 else
                                                    ": free at least 2 GB")))
    from course.services.ports import port_is_free

    rows.append(_lab_port(8888, port_is_free(8888)))
    if installed:
        rows.append(_shop_database())
    if shutil.which("git") is None:
        rows.append(Finding("warn", "git",
                            "not found: apply/reset cannot refuse on uncommitted work"))
    return rows


def _platform(*, installed: bool) -> list[Finding]:
    """What this kind of machine lacks on PyPI, and whether the room's wheelhouse fits it."""
    from course import venvs
    from course.setup import platforms

    machine, python = venvs.this_machine()
    rows = platforms.findings(machine, python, installed=installed)
    found = platforms.wheelhouse_finding(venvs.wheelhouse_folder(), machine, python)
    return rows + ([found] if found else [])


def _lab_port(port: int, free: bool) -> Finding:
    """Port 8888 is fine when it is free, or when the course's own JupyterLab holds it."""
    if free:
        return Finding("ok", f"port {port}", "free")
    for server in running_jupyter_servers():
        if server.get("port") == port and \
                str(server.get("root_dir", "")).rstrip("/") == str(paths.ROOT).rstrip("/"):
            return Finding("ok", f"port {port}",
                           f"the course's JupyterLab is running there: {server.get('url', '')}")
    return Finding("warn", f"port {port}",
                   f"busy (not the course's JupyterLab): use `python3 -m course lab --port "
                   f"{port + 2}`")


def running_jupyter_servers() -> list[dict]:
    """The Jupyter servers this user runs, from their runtime files."""
    import json

    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:
        return []
    from pathlib import Path

    servers = []
    for info in Path(jupyter_runtime_dir()).glob("jpserver-*.json"):
        try:
            servers.append(json.loads(info.read_text()))
        except (OSError, ValueError):
            continue
    return servers


def _shop_database() -> Finding:
    from course.project import commands

    problem = commands.learner_database_problem()
    if problem:
        return Finding("warn", "shop database", problem)
    return Finding("ok", "shop database", f"migrated and seeded ({commands.learner_db()})")


def _services() -> list[Finding]:
    from course import services
    from course.services import registry

    rows: list[Finding] = []
    try:
        rows.append(Finding("ok", "supervisord", find_binary("supervisord")))
    except ServiceError as error:
        rows.append(Finding("fix", "supervisord", str(error)))
    for service in registry.all_services().values():
        try:
            rows.extend(service.doctor())
        except Exception as error:  # noqa: BLE001 - doctor reports, never crashes
            rows.append(Finding("warn", service.name, f"could not check: {error}"))
    try:
        status = services.status()
        all_up = status.supervisor and all(s.healthy for s in status.services)
        detail = services.format_status(status).replace("\n", "\n" + " " * 19)
        rows.append(Finding("ok" if all_up else "warn", "running now", detail))
    except Exception as error:  # noqa: BLE001
        rows.append(Finding("warn", "running now", str(error)))
    return rows


def findings(installed: bool | None = None) -> list[Finding]:
    """Every finding; before the stack is installed (``installed`` False), only what the
    standard library can check: the services are checked once ``course lab`` installed them."""
    installed = bootstrap.venv_is_current() if installed is None else installed
    rows = _machine(installed)
    if not installed:
        rows.append(Finding("warn", "services", "checked once `python3 -m course lab` has "
                                                "installed the stack"))
        return rows
    from course.project import states

    rows += _services()
    rows.append(Finding("ok", "course base",
                        states.base_commit() or "no git: the working copy is the base"))
    return rows


def run(installed: bool | None = None) -> int:
    rows = findings(installed)
    for row in rows:
        print(f"{MARKS[row.level]} {row.name:<13} {row.detail}")
    bad = [row for row in rows if row.level == "fix"]
    warned = [row.name for row in rows if row.level == "warn"]
    if bad:
        print(f"\n{len(bad)} thing(s) to fix, see FIX lines above.")
    elif warned:
        print(f"\nNothing blocks the course; read the warn lines above ({', '.join(warned)}).")
    else:
        print("\nAll good.")
    return 0 if not bad else 1
