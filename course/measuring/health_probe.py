"""Liveness and readiness through an outage (chapter 10): a project state served from its
Procfile with a Redis of its own, which is frozen, then stopped, then started again, while
``/healthz`` and ``/readyz`` are asked what a load balancer asks::

    from course.measuring import health_probe
    rows = health_probe.through_an_outage(reference)
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from course import services
from course.measuring import metrics_watch, visits

BALANCER_HOST = "10.0.3.17:8000"  # how a load balancer names the instance it asks


def private_redis(port: int) -> subprocess.Popen[bytes]:
    """A Redis of its own on ``port`` (no disk), once it answers: stop it, freeze it (SIGSTOP)
    or kill it without touching the course's."""
    import redis

    server = subprocess.Popen(
        [services.redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            redis.Redis(port=port).ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    return server


def _ask(base: str, path: str, moment: str) -> dict[str, Any]:
    started = time.monotonic()
    try:
        page = visits.fetch(base + path, headers={"Host": BALANCER_HOST}, timeout=10)
        status: int | str = page.status
        text = page.body.decode("utf-8", "replace").strip()
    except TimeoutError:
        status, text = "no answer in 10 s", ""
    took = round(time.monotonic() - started, 2)
    try:
        said = json.loads(text)
        said = ", ".join(f"{key}: {str(value)[:40]}" for key, value in said.items())
    except ValueError:
        said = text[:80]
    return {"moment": moment, "path": path, "status": status, "seconds": took, "said": said}


def through_an_outage(target: Path) -> list[dict[str, Any]]:
    """``/healthz`` and ``/readyz`` (asked by the instance's address, as a balancer asks) with
    Redis up, frozen, stopped and back."""
    port = services.free_port()
    url = f"redis://127.0.0.1:{port}"
    server = private_redis(port)
    rows: list[dict[str, Any]] = []
    try:
        with metrics_watch.serving(target, workers=2, extra_env={
                "REDIS_URL": f"{url}/0", "CELERY_BROKER_URL": f"{url}/1",
                "CELERY_RESULT_BACKEND": f"{url}/1"}) as base:
            for moment, act in (("Redis up", None), ("Redis frozen", signal.SIGSTOP),
                                ("Redis stopped", signal.SIGKILL), ("Redis back", "start")):
                if act == signal.SIGKILL:
                    server.send_signal(signal.SIGCONT)
                    server.kill()
                    server.wait()
                elif act == "start":
                    server = private_redis(port)
                elif act is not None:
                    server.send_signal(act)
                rows += [_ask(base, path, moment) for path in ("/healthz", "/readyz")]
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGCONT)
            server.kill()
            server.wait()
    return rows
