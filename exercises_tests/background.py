"""Real Celery workers, a real broker and a real SMTP server for the chapter 06 graders.

Each grader gets its own SMTP server (the course's ``smtp_server`` on a free
port, mail in a temporary folder) so it can refuse, delay or hold mail
without touching the learner's mailbox; the broker and result store are the
course's Redis (database 13, or the run's own slot), emptied per test. Workers run the target
project in a separate process, on the test database, as
``celery -A config worker``: what a deployment runs.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from course import paths
from course.services.celery_process import Worker
from course.services.mailserver import PrivateServer as MailServer

VISIBILITY_TIMEOUT = 4  # seconds before Redis hands out again a task its worker never acknowledged
REPORT_PAUSE = 0.4  # seconds at each progress step of a report: long enough to watch, and to kill


def _wait(condition, timeout: float, interval: float = 0.05):
    """Poll ``condition()`` until it returns something truthy or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


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


def decoded(message: dict) -> tuple[list, dict]:
    """The positional and keyword arguments of a task message (Celery's protocol 2, JSON)."""
    import base64

    body = message.get("body", "")
    if message.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body)
    args, kwargs, _embed = json.loads(body)
    return list(args), dict(kwargs)


def pool_processes(worker: Worker) -> list[int]:
    """The pool's processes of a running prefork worker: the children of its main process."""
    import subprocess

    parent = worker.process.pid if worker.process else None
    if parent is None:
        return []
    if not Path("/proc").is_dir():  # macOS: ask pgrep
        found = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True)
        return [int(pid) for pid in found.stdout.split()]
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def kill_pool_processes(worker: Worker) -> list[int]:
    """SIGKILL the pool's processes and leave the worker's main process alone: what the
    kernel's OOM killer does to the process that holds the memory."""
    import signal

    killed = pool_processes(worker)
    for pid in killed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return killed


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
            PYTHONPATH=paths.pythonpath(self.target, paths.EXERCISES_TESTS, paths.ROOT),
            COURSE_TARGET_DIR=str(self.target),
            COURSE_GRADING_SMTP_PORT=str(self.mail.port),
            SHOP_REPORTS_DIR=str(self.reports_dir),
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
            SHOP_REPORT_PAUSE=str(REPORT_PAUSE),
        )
        return {k: v for k, v in env.items() if v != ""}

    def start(self, concurrency: int = 1) -> Worker:
        return self.start_with(self.env(), concurrency)

    def start_with(self, env: dict[str, str], concurrency: int = 1) -> Worker:
        """A worker with an environment of the grader's choosing (other settings)."""
        number = len(self.started) + 1
        worker = Worker(self.target, env, self.folder / f"worker-{number}.log",
                        f"grader{number}", concurrency=concurrency)
        self.started.append(worker)
        return worker.start()

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()


def graders_broker_env(**extra: str) -> dict[str, str]:
    """The graders' broker and result store, for the web process and the worker alike."""
    from conftest import _graders_broker

    return {"CELERY_BROKER_URL": _graders_broker(), "CELERY_RESULT_BACKEND": _graders_broker(),
            **extra}


def start_project_worker(project, workers, env: dict[str, str]):
    """A real worker under the production settings plus the graders' tasks (worker_settings),
    on the project's database and the graders' broker."""
    import pytest

    from course.services.celery_process import WorkerError

    env = {**workers.env(), **project.env("worker_settings", project.seeded_database()), **env}
    try:
        return workers.start_with(env)
    except WorkerError as error:
        pytest.fail(f"{error}. This grader runs a real Celery worker with the shop's Celery "
                    "app, which chapter 06 sets up (config/celery.py)", pytrace=False)
