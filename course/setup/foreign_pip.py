"""pip, for another machine: ``python -m course.setup.foreign_pip TARGET.json pip-args…``.

``pip download --platform … --python-version …`` picks the wheels of the target, but judges
environment markers (``; sys_platform == "darwin"``, ``; python_version < "3.11"``) by the
machine it runs on, in the requirements file and in every package's dependencies alike: a
wheelhouse made on Linux for a Mac then lacks the Mac-only dependencies, and holds the
Linux-only ones. This runs pip with the marker environment of the target (the JSON file's
values over this machine's), so both come out as the target's own resolution would.

Standard library and pip's vendored packaging only.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path


def patch_markers(target: dict[str, str]) -> None:
    """Make pip's marker evaluation see ``target`` (keys of PEP 508's marker environment)."""
    from pip._vendor.packaging import markers

    original = markers.default_environment

    def target_environment() -> dict[str, str]:
        return {**original(), **target}

    markers.default_environment = target_environment  # type: ignore[assignment]


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: python -m course.setup.foreign_pip TARGET.json pip-args…")
    patch_markers(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    sys.argv = ["pip", *argv[1:]]
    runpy.run_module("pip", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
