"""Files the course writes from its own data (the Classroom workflow, the instructor guide's
generated sections): rewrite one, or, for the suite, say that it is out of date."""

from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(path: Path, wanted: str, *, check: bool, command: str) -> int:
    """Write ``wanted`` to ``path`` if it differs; with ``check``, write nothing and exit 1
    (naming ``command``, which rewrites it) if it differs."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if check:
        if current != wanted:
            print(f"{path} is out of date: run `{command}`", file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(wanted, encoding="utf-8")
        print(f"updated {path}")
    return 0
