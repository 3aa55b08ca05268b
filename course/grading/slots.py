"""Redis databases for graders, one pair per grading run, so runs can go side by side.

Graders empty the databases they use (a cache, a Celery broker and result
store). Slot 0 is the documented pair (15 for the cache, 13 for Celery); runs
at the same time (the suite's SQLite and PostgreSQL proofs, an instructor
grading a room) take the next free slot, databases 16–31. A slot is held
with a lock file for as long as its run lasts.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from course import paths

FIRST = (15, 13)  # (cache, broker) of slot 0
EXTRA_FROM = 16  # slots 1… use 16/17, 18/19 … up to 31 (the course's Redis has 32)
SLOTS = 1 + (32 - EXTRA_FROM) // 2


@dataclass(frozen=True)
class Slot:
    number: int

    @property
    def cache_db(self) -> int:
        return FIRST[0] if self.number == 0 else EXTRA_FROM + 2 * (self.number - 1)

    @property
    def broker_db(self) -> int:
        return FIRST[1] if self.number == 0 else EXTRA_FROM + 2 * (self.number - 1) + 1


@contextmanager
def grading_slot(wait: float = 600.0) -> Iterator[Slot]:
    """The first free slot, held until the block ends (waiting for one if all are taken)."""
    folder = paths.STATE / "run"
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    while True:
        for number in range(SLOTS):
            handle = open(folder / f"grading-slot-{number}.lock", "w")  # noqa: SIM115
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield Slot(number)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        if time.monotonic() > deadline:
            raise TimeoutError("every grading slot stayed busy")
        time.sleep(0.2)
