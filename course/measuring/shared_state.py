"""State that lives in one machine, measured (chapter 11).

:func:`report_across_machines` runs a project state as three machines would: a Celery
worker and two app servers, each with a disk of its own (its own ``SHOP_REPORTS_DIR``),
sharing only what machines share (the database, Redis and the object store). A report
asked of one app server, written by the worker, is looked for through the other.

:func:`audit` runs it as two instances, each with a temporary folder and a media folder of
its own, and plays the balancer, sending each visitor's requests round robin with the
visitor's address in X-Forwarded-For; a staff member is made in the copy for the sign-ins:

- ``wrong_passwords_tried``: how many wrong passwords one address got checked, spread over
  the instances, before the first refusal (429), against what the settings allow;
- ``kept_signed_in``: visitors signed in through the first instance, which then dies
  (SIGKILL, as a crash or a lost host): how many the second one still knows. A balancer
  with sticky sessions would send them there too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from course import paths, services
from course.measuring import bench, procfile, queueing, visits
from course.measuring.visitor import Visitor, random_address
from course.services.celery_process import Worker
from course.services.plugins.worker import project_has_celery_app

PAGE = "/products/"
COLUMNS = ("state on the second app server", "after_s", "download there", "bytes",
           "files on the worker's disk", "files on the app servers' disks", "problem")


def _files(folder: Path) -> int:
    return sum(1 for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0


def report_across_machines(name: str, target: Path, *, fmt: str = "csv",
                           within: float = 30.0) -> dict[str, Any]:
    """Ask the first app server of ``target`` for a ``fmt`` report, then follow it through
    the second: a row of what the second said, what its download answered, and how many
    files the machines' disks hold afterwards."""
    target = Path(target)
    row: dict[str, Any] = {"name": name, **dict.fromkeys(COLUMNS, "—")}
    if not project_has_celery_app(target):
        return {**row, "problem": "no Celery app yet (chapter 06): no report jobs to follow"}
    broker = services.redis_url(queueing.BROKER_DB) or ""
    with tempfile.TemporaryDirectory(prefix="course-machines-") as scratch, ExitStack() as stack:
        folder = Path(scratch)
        disks = {machine: folder / machine for machine in ("worker", "first", "second")}
        env = stack.enter_context(bench.migrated_copy(target))
        # The course's own env file, wherever the state lives: the object store's address,
        # keys and buckets are there once it runs (a state outside the course's folder finds
        # no env file of its own).
        env = {**visits.production_env(env, folder / "static"), "CELERY_BROKER_URL": broker,
               "CELERY_RESULT_BACKEND": broker, "COURSE_ENV_FILE": str(paths.ENV_FILE)}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        visits.collect_static(target, env)
        queueing._broker(flush=True)
        stack.callback(queueing._broker, True)
        worker = Worker(target, {**env, "SHOP_REPORTS_DIR": str(disks["worker"])},
                        folder / "worker.log", "machines").start()
        stack.callback(worker.stop)
        first, second = (
            stack.enter_context(procfile.serve(
                target, {**env, "SHOP_REPORTS_DIR": str(disks[machine])}, workers=1,
                probe_path=PAGE))[0]
            for machine in ("first", "second"))
        asker = queueing.Browser(first)
        asker.get("/reports/sales/")  # its CSRF cookie
        status, body = asker.post("/reports/sales/jobs/", {"format": fmt})
        if status != 202:
            return {**row, "problem": f"asking the first app server answered {status}"}
        follower = queueing.Browser(second)
        follower.cookies = asker.cookies
        status_url = json.loads(body)["status"]
        started, state = time.monotonic(), {}
        while time.monotonic() - started < within:
            code, answer = follower.get(status_url)
            state = json.loads(answer) if code == 200 else {"state": f"HTTP {code}"}
            if state.get("state") in ("ready", "failed"):
                break
            time.sleep(0.1)
        waited = time.monotonic() - started
        download = state.get("download") or status_url.rstrip("/") + "/download"
        code, content = follower.get(download)
        row.update({
            "problem": "",
            "state on the second app server": state.get("state"),
            "after_s": round(waited, 2),
            "download there": code,
            "bytes": len(content) if code == 200 else 0,
            "files on the worker's disk": _files(disks["worker"]),
            "files on the app servers' disks": _files(disks["first"]) + _files(disks["second"]),
        })
    return row


ALLOWED = 5  # SHOP_SIGN_IN_FAILURES_ALLOWED for the measured instances
PASSWORD = "course-audit-password"


def own_machine(disk: Path) -> dict[str, str]:
    """What makes one instance a machine of its own: its media, report and temporary
    folders, under ``disk`` (a session file or an upload written there is there only)."""
    for folder in ("media", "reports", "tmp"):
        (disk / folder).mkdir(parents=True, exist_ok=True)
    return {"MEDIA_ROOT": str(disk / "media"), "SHOP_REPORTS_DIR": str(disk / "reports"),
            "TMPDIR": str(disk / "tmp")}


def _staff(target: Path, env: dict[str, str]) -> str:
    """A staff member in the copy's database (createsuperuser, as a person would): its name."""
    username = f"audit-{uuid.uuid4().hex[:8]}"
    subprocess.run([sys.executable, "manage.py", "createsuperuser", "--noinput",
                    "--username", username, "--email", f"{username}@shop.example"],
                   cwd=target, env={**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
                   check=True, capture_output=True, timeout=120)
    return username


def wrong_passwords_tried(bases: list[str], username: str, most: int) -> int:
    """Wrong passwords one address gets checked, round robin over ``bases``, before the
    first refusal (at most ``most``)."""
    guesser = Visitor({"X-Forwarded-For": random_address()})
    for tried in range(most):
        if guesser.sign_in(bases[tried % len(bases)], username, "a-wrong-guess").status == 429:
            return tried
    return most


def kept_signed_in(first: str, second: str, dies: subprocess.Popen[bytes], username: str,
                   visitors: int) -> int:
    """Visitors signed in through ``first``, which then dies: how many ``second`` knows."""
    signed = []
    for _ in range(visitors):
        visitor = Visitor({"X-Forwarded-For": random_address()})
        if visitor.sign_in(first, username, PASSWORD).path == "/admin/":
            signed.append(visitor)
    os.killpg(dies.pid, signal.SIGKILL)
    dies.wait(timeout=10)
    return sum(visitor.signed_in(second) for visitor in signed)


def measure_one(name: str, target: Path, *, workers: int, visitors: int) -> dict[str, Any]:
    extra = {"TRUSTED_PROXIES": "127.0.0.1", "SHOP_SIGN_IN_FAILURES_ALLOWED": str(ALLOWED),
             "SHOP_SIGN_IN_LOCKOUT_SECONDS": "300"}
    with tempfile.TemporaryDirectory(prefix="course-machines-") as machines, \
            visits.production_ready(target, extra_env=extra) as env, ExitStack() as stack:
        username = _staff(target, env)
        served = []
        for machine in ("first", "second"):
            own = {**env, **own_machine(Path(machines) / machine)}
            served.append(stack.enter_context(procfile.serve(
                target, own, workers=workers, probe_path=PAGE, within=60)))
        bases = [base for base, _ in served]
        processes = workers * len(bases)
        tried = wrong_passwords_tried(bases, username, ALLOWED * processes + 2)
        kept = kept_signed_in(bases[0], bases[1], served[0][1], username, visitors)
    return {"name": name, "processes": processes, "failures_allowed": ALLOWED,
            "wrong_passwords_tried": tried, "kept_signed_in": kept, "visitors": visitors}


def audit(states: dict[str, Path], *, workers: int = 2, visitors: int = 5
          ) -> list[dict[str, Any]]:
    """Each state as two instances of ``workers`` processes: how many wrong passwords one
    address gets checked before a refusal, and how many of ``visitors`` signed in through an
    instance that dies are still signed in through the other."""
    rows = []
    for name, target in states.items():
        print(f"  {name}: two instances × {workers} workers …", flush=True)
        rows.append(measure_one(name, target, workers=workers, visitors=visitors))
    return rows
