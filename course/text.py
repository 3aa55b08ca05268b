"""Rich renderables (tables, styled text) as a string, for output built before it is printed."""

from __future__ import annotations

import io
import shutil
from typing import Any


def render(*renderables: Any, width: int | None = None, colour: bool = False) -> str:
    """The renderables as text: plain unless ``colour``, as wide as the terminal by default
    (60 to 200 columns), without trailing spaces."""
    from rich.console import Console

    width = width or max(60, min(shutil.get_terminal_size((120, 20)).columns, 200))
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=colour,
                      color_system="standard" if colour else None, highlight=False)
    for renderable in renderables:
        console.print(renderable)
    return "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").splitlines())
