"""Reading the services' logs (``.course/logs/<instance>.log``), which grow to megabytes."""

from __future__ import annotations

from course.services.base import log_path


def text(instance_id: str, since: int | None = None) -> str:
    """The end of a log (its last 64 kB), or what was written after byte offset ``since``."""
    path = log_path(instance_id)
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(since or 0, path.stat().st_size - 64_000))
        return handle.read().decode(errors="replace")


def size(instance_id: str) -> int:
    path = log_path(instance_id)
    return path.stat().st_size if path.exists() else 0


def tail(instance_id: str, lines: int = 15) -> str:
    return "\n".join(text(instance_id).splitlines()[-lines:])
