"""The shop's own Celery worker: ``celery -A config worker`` in ``starter_project/``.

It joins the services once the project defines a Celery app (chapter 06). It
runs the code as it was when it started: ``services restart`` after changing a
task. It reads the broker's address from ``.course/env`` once, when it loads
the settings, so ``up`` restarts it when the addresses change; and a worker
that lost Redis is restarted once Redis is back, rather than left to Celery's
growing retry intervals.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from course import paths
from course.services import logs, supervisor
from course.services.base import Finding, Instance, Program, Service, log_path

# What a Celery worker logs once it reaches its broker, and when it cannot (or lost it).
_CONNECTED = re.compile(r" ready\.$|Connected to \w+://", re.MULTILINE)
_CUT_OFF = re.compile(r"Cannot connect to \w+://|Connection to broker lost")


def connection(log: str) -> str | None:
    """From a worker's log: "connected", "disconnected" (its latest word on the broker is a
    failure), or None when it has said neither yet."""
    good = [m.end() for m in _CONNECTED.finditer(log)]
    bad = [m.end() for m in _CUT_OFF.finditer(log)]
    if not good and not bad:
        return None
    return "connected" if max(good, default=-1) > max(bad, default=-1) else "disconnected"


def project_has_celery_app(project: Path | None = None, cache_dir: Path | None = None) -> bool:
    """True once ``config/celery.py`` of the learner's project defines a Celery app ``app``."""
    project = project or paths.STARTER
    module = project / "config" / "celery.py"
    if not module.exists():
        return False
    # Importing the project takes a fifth of a second and every `check` runs `up`: the answer
    # is kept until config/celery.py or config/__init__.py changes.
    key = " ".join([str(module.resolve())] + [
        f"{path.stat().st_mtime_ns}:{path.stat().st_size}" if path.exists() else "-"
        for path in (module, module.with_name("__init__.py"))])
    known = (cache_dir or supervisor.run_dir()) / "celery-app"
    try:
        cached_key, answer = known.read_text().splitlines()
        if cached_key == key:
            return answer == "True"
    except (OSError, ValueError):
        pass
    probe = ("import celery, config.celery as m; "
             "print(isinstance(getattr(m, 'app', None), celery.Celery))")
    try:
        result = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True,
                                text=True, timeout=60,
                                env=dict(os.environ, PYTHONPATH=str(project)))
    except subprocess.TimeoutExpired:
        return False
    found = result.stdout.strip() == "True"
    known.parent.mkdir(parents=True, exist_ok=True)
    known.write_text(f"{key}\n{found}\n")
    return found


class Worker(Service):
    name = "worker"
    summary = "the shop's Celery worker (celery -A config worker), once config/celery.py has an app"
    requires = ("redis", "smtp")
    health_timeout = 30.0
    reads_env_file = True
    essential = False  # the learner's tasks may have a bug: say so, and keep the others up

    def automatic(self) -> bool:
        return True

    def available(self) -> bool:
        return project_has_celery_app()

    def doctor(self) -> list[Finding]:
        try:
            from importlib.metadata import version

            installed = f"celery {version('celery')}"
        except Exception:  # noqa: BLE001
            return [Finding("fix", self.name, "celery is missing: run `python3 -m course lab`")]
        if not project_has_celery_app():
            return [Finding("ok", self.name, f"{installed}; starts once config/celery.py "
                                             "defines an app (exercise 06.1)")]
        return [Finding("ok", self.name, installed)]

    def program(self, instance: Instance) -> Program:
        # A warm shutdown lets running tasks finish; the project's settings are the dev ones.
        return Program(
            f"{sys.executable} -m celery -A config worker --loglevel=INFO --concurrency=2 "
            "--hostname shop@%h",
            directory=paths.STARTER,
            environment={"PYTHONPATH": str(paths.STARTER),
                         "DJANGO_SETTINGS_MODULE": "config.settings.dev"},
            stop_wait_seconds=30,
        )

    def url(self, instance: Instance) -> str:
        return "celery -A config worker (starter_project/)"

    def healthy(self, instance: Instance) -> bool:
        return connection(logs.text(instance.id)) != "disconnected"

    def needs_restart(self, instance: Instance) -> bool:
        return connection(logs.text(instance.id)) == "disconnected"

    def problem(self, instance: Instance) -> str:
        """The worker's last line about its broker, or its last line."""
        lines = [line for line in logs.text(instance.id).splitlines() if line.strip()]
        about_broker = [line for line in lines if _CUT_OFF.search(line)]
        return (about_broker or lines or ["no output"])[-1].strip()

    def wait_started(self, instance: Instance, log_from: int, quiet: bool) -> None:
        deadline = time.monotonic() + self.health_timeout
        while time.monotonic() < deadline:
            state = supervisor.process_states().get(instance.id)
            if state in ("FATAL", "EXITED"):
                break
            if state == "RUNNING" and connection(logs.text(instance.id, log_from)) is not None:
                break
            time.sleep(0.2)
        working = (supervisor.process_states().get(instance.id) == "RUNNING"
                   and connection(logs.text(instance.id)) == "connected")
        if not quiet and not working:
            print(f"course: the Celery worker is not working: {self.problem(instance)} "
                  f"(full log: {log_path(instance.id)})")


SERVICE = Worker()
