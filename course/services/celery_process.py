"""A ``celery -A config worker`` process for one project state: started, watched, killed.

Graders and measurements start their own workers (on a test database or a
copy of the learner's data); the learner's own worker is supervised by
``course services``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 45.0


class WorkerError(AssertionError):
    """The worker did not start; the message is the worker's own last words."""


@dataclass
class Worker:
    """One ``celery -A config worker``: ``concurrency`` pool processes (prefork, as deployed).

    Not the solo pool for reliability tests: a solo worker runs the task inside its event loop, so even an early
    acknowledgement reaches Redis only when the task has finished (measured), and a killed
    solo worker would look as if it had acknowledged late."""

    target: Path
    env: dict[str, str]
    log_path: Path
    name: str
    pool: str = "prefork"
    concurrency: int = 1
    process: subprocess.Popen | None = None

    def start(self) -> Worker:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", f"--pool={self.pool}",
             f"--concurrency={self.concurrency}",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--hostname", f"{self.name}@%h"],
            cwd=self.target, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

        def settled() -> bool:
            log = self.log()
            return self.process.poll() is not None or " ready." in log or \
                "Cannot connect to" in log

        deadline = time.monotonic() + START_TIMEOUT
        while not settled() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.process.poll() is not None or " ready." not in self.log():
            self.kill()
            raise WorkerError(
                "the Celery worker (celery -A config worker) did not start: "
                + self.last_error()
            )
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def last_error(self) -> str:
        """The worker's own words for what went wrong (Celery puts them after "Error:")."""
        lines = [line.strip() for line in self.log().splitlines() if line.strip()]
        for number in range(len(lines) - 1, -1, -1):
            line = lines[number]
            if line == "Error:":
                return " ".join(lines[number + 1:number + 3])[-300:]
            if "Error" in line or "error" in line or "Cannot connect" in line:
                return line[-300:]
        return lines[-1][-300:] if lines else "no output"

    def kill(self) -> None:
        """SIGKILL, like the kernel's OOM killer or a pulled plug: no clean-up at all."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


