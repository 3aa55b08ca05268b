"""State that lives in one machine, measured (chapter 11): a report asked of one app server,
written by a worker on another machine, and looked for through a third.

:func:`report_across_machines` runs a project state as three machines would: a Celery
worker and two app servers, each with a disk of its own (its own ``SHOP_REPORTS_DIR``),
sharing only what machines share (the database, Redis and the object store).
"""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from course import paths, services
from course.measuring import bench, procfile, queueing, visits
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
