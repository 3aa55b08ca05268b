"""``course doctor``: check the machine and say exactly what to fix."""

from __future__ import annotations

import shutil
import sys

from course import bootstrap, paths

OK, WARN, BAD = "ok  ", "warn", "FIX "


def findings() -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    version = ".".join(map(str, sys.version_info[:3]))
    rows.append((OK if sys.version_info >= (3, 10) else BAD, "python",
                 f"{version}" if sys.version_info >= (3, 10) else f"{version}: install 3.10+"))
    if bootstrap.venv_is_current():
        rows.append((OK, ".venv", "installed from the current requirements.txt"))
    else:
        rows.append((BAD, ".venv", "missing or stale: run `python3 -m course lab`"))
    free_gb = shutil.disk_usage(paths.ROOT).free / 1e9
    rows.append((OK if free_gb > 2 else BAD, "disk",
                 f"{free_gb:.1f} GB free" + ("" if free_gb > 2 else ": free at least 2 GB")))
    from course.services import port_is_free

    free = port_is_free(8888)
    rows.append((OK if free else WARN, "port 8888",
                 "free" if free else "busy: use `course lab --port 8890`"))
    if shutil.which("git") is None:
        rows.append((WARN, "git", "not found: apply/reset cannot refuse on uncommitted work"))
    try:
        from course import services

        status = services.status()
        all_up = status.supervisor and all(s.healthy for s in status.services)
        detail = services.format_status(status).replace("\n", "\n" + " " * 19)
        rows.append((OK if all_up else WARN, "services", detail))
    except Exception as error:  # noqa: BLE001 - doctor reports, never crashes
        rows.append((WARN, "services", f"{error}"))
    from course import targets

    rows.append((OK, "course base", targets.base_commit() or "no git: the working copy is the base"))
    return rows


def run() -> int:
    rows = findings()
    for mark, name, detail in rows:
        print(f"{mark} {name:<13} {detail}")
    bad = [row for row in rows if row[0] == BAD]
    print("\nAll good." if not bad else f"\n{len(bad)} thing(s) to fix, see FIX lines above.")
    return 0 if not bad else 1
