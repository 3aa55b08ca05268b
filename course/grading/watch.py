"""``course watch``: check the exercise at hand each time a file of the project is saved.

The project is polled (no native file-watching library, so it behaves the same on every
system and in every editor, including those that save by renaming a temporary file). A check
starts once the files have been still for a moment (an editor's "save all" is one change),
never while another runs, and once more after it when something was saved meanwhile. When
the exercise passes, the next one of the selection becomes the one at hand.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from course.catalog import Catalog, Exercise
from course.grading.grader import PASSED, Verdict

SKIPPED_FOLDERS = frozenset({"__pycache__", ".venv", "venv", "node_modules", "staticfiles",
                             "media", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
SKIPPED_SUFFIXES = frozenset({".pyc", ".sqlite3", ".sqlite3-journal", ".sqlite3-wal",
                              ".sqlite3-shm", ".log", ".swp", ".swx", ".tmp"})

Snapshot = dict[str, tuple[int, int]]


def snapshot(root: Path) -> Snapshot:
    """Every file of the project that a learner edits, with its modification time and size."""
    found: Snapshot = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_FOLDERS]
        for name in files:
            if name.startswith(".#") or name.endswith("~") or \
                    os.path.splitext(name)[1] in SKIPPED_SUFFIXES:
                continue  # editors' lock and backup files, databases, logs
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path)
            except OSError:
                continue  # removed between the listing and now
            found[os.path.relpath(path, root)] = (stat.st_mtime_ns, stat.st_size)
    return found


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    """The files added, removed or saved between two snapshots, sorted."""
    return sorted(name for name in before.keys() | after.keys()
                  if before.get(name) != after.get(name))


def queue_for(catalog: Catalog, selector: str | None, passed: set[str]) -> list[Exercise]:
    """The exercises to watch, the one at hand first: from ``NN.M`` to the end of its chapter,
    a chapter ``NN`` (from its first exercise not passed yet), or the whole course (from the
    first exercise not passed yet)."""
    if selector and "." in selector:
        start = catalog.exercise(selector)
        chapter = [e for e in catalog.exercises if e.chapter_number == start.chapter_number]
        return chapter[chapter.index(start):]
    exercises = catalog.select(selector)
    first = next((i for i, e in enumerate(exercises) if e.id not in passed), len(exercises))
    return exercises[first:]


@dataclass
class Watcher:
    """Checks ``queue[0]`` after each save under ``root`` until every exercise in ``queue``
    passes. ``check`` grades one exercise; ``say`` shows a line."""

    root: Path
    queue: list[Exercise]
    check: Callable[[Exercise], Verdict]
    say: Callable[[str], None]
    poll: float = 0.4  # seconds between two looks at the files
    settle: float = 0.8  # seconds without a save before a check starts
    sleep: Callable[[float], None] = time.sleep
    checks: int = 0

    def run(self, max_checks: int | None = None) -> bool:
        """Watch until the queue is done (True) or ``max_checks`` checks have run (False)."""
        if not self.queue:
            self.say("Nothing left to watch: every exercise of the selection passes.")
            return True
        self.say(f"Watching {self.root} (Ctrl-C stops). At hand: {self._named(self.queue[0])}")
        seen = snapshot(self.root)
        while True:
            verdict = self.check(self.queue[0])
            self.checks += 1
            if verdict.status == PASSED:
                done = self.queue.pop(0)
                if not self.queue:
                    self.say(f"{done.id} passes, and with it everything watched. Well done.")
                    return True
                self.say(f"Next: {self._named(self.queue[0])}")
            if max_checks is not None and self.checks >= max_checks:
                return False
            after = snapshot(self.root)
            if not changed(seen, after):  # nothing saved while the check ran: wait for a save
                after = self.wait_for_save(seen)
            seen = self.settled(after)

    def wait_for_save(self, seen: Snapshot) -> Snapshot:
        while True:
            self.sleep(self.poll)
            now = snapshot(self.root)
            if changed(seen, now):
                return now

    def settled(self, latest: Snapshot) -> Snapshot:
        """The files once no save has come for ``settle`` seconds."""
        quiet = 0.0
        while quiet < self.settle:
            self.sleep(self.poll)
            now = snapshot(self.root)
            if changed(latest, now):
                latest, quiet = now, 0.0
            else:
                quiet += self.poll
        return latest

    @staticmethod
    def _named(exercise: Exercise) -> str:
        return f"{exercise.id} {exercise.title} (edit {', '.join(exercise.files)})"
