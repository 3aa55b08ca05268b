"""What every verb shares: exit codes, the one-line error, the catalog, colour and the console."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from course import paths

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CourseError(Exception):
    """An expected problem; printed as one line, exit code 2."""


def catalog() -> Any:
    from course import catalog as catalog_module

    return catalog_module.load()


def target(reference: bool, through: str | None = None) -> tuple[Path, str]:
    """The project a verb works on: the learner's, or a reference state, and its label."""
    if not reference:
        return paths.STARTER, "starter"
    from course.project import states

    cat = catalog()
    return states.reference_state(cat, through or states.final_chapter(cat)), "reference"


def colour() -> bool:
    return sys.stdout.isatty() and os.environ.get("NO_COLOR") is None


def console() -> Any:
    """A rich console on stdout (plain text when piped or NO_COLOR is set)."""
    import shutil

    from rich.console import Console

    width = max(100, shutil.get_terminal_size((100, 20)).columns)
    return Console(highlight=False, no_color=not colour(), width=width)
