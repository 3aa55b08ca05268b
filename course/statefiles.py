"""Files under ``.course/`` that several processes may touch at once.

Grading runs, parts of the suite, a notebook and a check can run side by side,
so state files are written atomically, small JSON files are read forgivingly,
work that must happen once takes a lock, and builds kept for reuse (migrated
databases, seeded copies) are made once per key and pruned.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader, or another writer at the same moment, never
    sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path, default: Any) -> Any:
    """The JSON in ``path``, or ``default`` when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def write_json(path: Path, data: Any) -> None:
    write_atomically(path, json.dumps(data, indent=1, sort_keys=True))


def read_numbers(path: Path) -> dict[str, float]:
    """A JSON file of name → number (durations kept between runs); empty when unreadable."""
    data = read_json(path, {})
    try:
        return {str(k): float(v) for k, v in data.items()}
    except (AttributeError, TypeError, ValueError):
        return {}


def update_numbers(path: Path, values: dict[str, float]) -> None:
    write_json(path, {**read_numbers(path), **values})


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the block, across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class ReentrantFileLock:
    """A lock across processes on whichever file :meth:`held` names, that the thread already
    holding it may take again (a service start that starts another one)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def held(self, path: Path) -> Iterator[None]:
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        with locked(path):
            self._local.depth = 1
            try:
                yield
            finally:
                self._local.depth = 0


# A kept entry used this recently may still be read (a grading run holds on to its collected
# static files for its whole length, while another part of the suite builds many more): it is
# never pruned, however many newer ones there are.
IN_USE_SECONDS = 30 * 60


def kept(folder: Path, name: str, build: Callable[[Path], None], keep: int = 8) -> Path:
    """``folder/name`` (a file or a folder), made once by ``build(path)`` and reused; of the
    entries of the folder, the ``keep`` most recently used are kept, and any used in the last
    :data:`IN_USE_SECONDS`. Safe when several processes ask at once."""
    target = folder / name
    with locked(folder / ".lock"):
        if not target.exists():
            building = folder / f".{name}.{os.getpid()}.building"
            build(building)
            os.replace(building, target)
            others = sorted((p for p in folder.iterdir() if not p.name.startswith(".")),
                            key=lambda p: p.stat().st_mtime, reverse=True)
            for old in others[keep:]:
                if time.time() - old.stat().st_mtime < IN_USE_SECONDS:
                    continue
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    old.unlink(missing_ok=True)
        os.utime(target)  # recently used: kept by the pruning above
    return target


def digest_files(root: Path, patterns: list[str]) -> str:
    """A short hash of every file under ``root`` matching ``patterns``: names and contents."""
    import hashlib

    found = sorted({p for pattern in patterns for p in root.glob(pattern)
                    if p.is_file() and "__pycache__" not in p.parts})
    digest = hashlib.sha256()
    for path in found:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
