"""Real Celery workers, a real broker and a real SMTP server for the chapter 06 graders.

Each grader gets its own SMTP server (the course's ``smtp_server`` on a free
port, mail in a temporary folder) so it can refuse, delay or hold mail
without touching the learner's mailbox; the broker and result store are the
course's Redis, database 13, emptied per test. Workers run the target
project in a separate process, on the test database, as
``celery -A config worker``: what a deployment runs.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from course import paths, services, smtp_server

WORKER_START_TIMEOUT = 45.0
VISIBILITY_TIMEOUT = 4  # seconds before Redis hands out again a task its worker never acknowledged


def _wait(condition, timeout: float, interval: float = 0.05):
    """Poll ``condition()`` until it returns something truthy or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@dataclass
class MailServer:
    """The course's SMTP server, run for one grader."""

    folder: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def control(self) -> Path:
        return self.folder / "control.json"

    @property
    def maildir(self) -> Path:
        return self.folder / "mail"

    def start(self) -> MailServer:
        import smtplib

        self.port = services.free_port()
        smtp_server.reset_behaviour(self.control)
        env = dict(os.environ, PYTHONPATH=str(paths.ROOT))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "course.smtp_server", "--port", str(self.port),
             "--maildir", str(self.maildir), "--control", str(self.control)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=1) as client:
                    return client.noop()[0] == 250
            except OSError:
                return False

        if not _wait(answers, 15):
            raise AssertionError("the graders' SMTP server did not start")
        return self

    def behave(self, **settings: float) -> None:
        smtp_server.set_behaviour(path=self.control, **settings)

    def setting(self, name: str) -> float:
        return json.loads(self.control.read_text()).get(name, 0)

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        found = smtp_server.messages(self.maildir)
        return [m for m in found if to is None or to in str(m["To"])]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def queued(broker) -> list[dict]:
    """Every task message waiting in the broker (Redis lists), decoded."""
    found = []
    for key in broker.keys("*"):
        if key.startswith(b"_kombu") or key.startswith(b"unacked") or broker.type(key) != b"list":
            continue
        for raw in broker.lrange(key, 0, -1):
            try:
                found.append(json.loads(raw))
            except ValueError:
                continue
    return [m for m in found if "task" in m.get("headers", {})]


def database_env() -> dict[str, str]:
    """Environment that points a separate process at the test database."""
    from django.db import connection

    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return {"COURSE_SQLITE_PATH": str(settings["NAME"]), "COURSE_DB": ""}
    url = (f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST']}:"
           f"{settings['PORT']}/{settings['NAME']}")
    return {"DATABASE_URL": url}


@dataclass
class Worker:
    """One ``celery -A config worker`` with one pool process, as deployed (prefork).

    Not the solo pool: a solo worker runs the task inside its event loop, so even an early
    acknowledgement reaches Redis only when the task has finished (measured), and a killed
    solo worker would look as if it had acknowledged late."""

    target: Path
    env: dict[str, str]
    log_path: Path
    name: str
    process: subprocess.Popen | None = None

    def start(self) -> Worker:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
             "--concurrency=1",
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

        _wait(settled, WORKER_START_TIMEOUT, 0.1)
        if self.process.poll() is not None or " ready." not in self.log():
            self.kill()
            raise AssertionError(
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


@dataclass
class Workers:
    """Starts workers on the test database, with the graders' broker and SMTP server."""

    target: Path
    folder: Path
    mail: MailServer
    reports_dir: Path
    started: list[Worker] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "COURSE_DB"}}
        env.update(database_env())
        env.update(
            DJANGO_SETTINGS_MODULE="grading_settings",
            PYTHONPATH=os.pathsep.join([str(self.target), str(paths.EXERCISES_TESTS),
                                        str(paths.ROOT)]),
            COURSE_TARGET_DIR=str(self.target),
            COURSE_GRADING_SMTP_PORT=str(self.mail.port),
            SHOP_REPORTS_DIR=str(self.reports_dir),
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        )
        return {k: v for k, v in env.items() if v != ""}

    def start(self) -> Worker:
        number = len(self.started) + 1
        worker = Worker(self.target, self.env(), self.folder / f"worker-{number}.log",
                        f"grader{number}")
        self.started.append(worker)
        return worker.start()

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()
