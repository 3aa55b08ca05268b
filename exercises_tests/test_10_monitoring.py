"""Chapter 10 — Monitoring and logging: graders.

10.1 starts the project as a platform does (its Procfile, three workers) and scrapes
``/metrics`` as Prometheus does, with the token and without: after 100 requests to a product
page every scrape, whichever worker answers it, must read 100; a worker killed and started
again, 50 more requests, a second server of the same project started beside the first, and
the first restarted must each leave the numbers where they belong.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from procfile_server import procfile_server

from course.measuring.visits import fetch

SETTINGS = "config.settings.production"

# 10.1 ---------------------------------------------------------------------------------------

METRICS_TOKEN = "grading-metrics-token-5d1f"
METRICS_WORKERS = 3
METRICS_REQUESTS = 100
MORE_REQUESTS = 50
SCRAPES = 6

PRODUCT_PROBE = """
from shop.models import Product
p = Product.objects.filter(is_active=True).order_by("pk").first()
report(slug=p.slug)
"""


def _metrics_env() -> dict[str, str]:
    """What a platform gives the web process: the token, and no metrics directory (the
    project decides where its workers keep their numbers)."""
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return {"METRICS_TOKEN": METRICS_TOKEN}


def _scrape(base: str, token: str | None = METRICS_TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return fetch(f"{base}/metrics", headers=headers, timeout=10)


def _families(text: str) -> list:
    from prometheus_client.parser import text_string_to_metric_families

    return list(text_string_to_metric_families(text))


def _view_counts(base: str, view: str) -> tuple[float, float]:
    """From one scrape: the responses counted for ``view`` with status 200 (a counter
    labelled by view and status), and the requests its latency histogram timed (``_count``
    of a histogram labelled by view)."""
    page = _scrape(base)
    assert page.status == 200, (
        f"with the token (Authorization: Bearer {METRICS_TOKEN}, METRICS_TOKEN in the "
        f"environment) /metrics answered {page.status}: Prometheus could not scrape it [hint 1]")
    responses = timed = 0.0
    for family in _families(page.body.decode("utf-8", "replace")):
        for sample in family.samples:
            labels = sample.labels
            if not labels.get("view", "").endswith(view):
                continue
            if family.type == "counter" and labels.get("status") == "200" \
                    and sample.name.endswith("_total"):
                responses += sample.value
            if family.type == "histogram" and sample.name.endswith("_count"):
                timed += sample.value
    return responses, timed


def _scrapes(base: str, view: str) -> list[tuple[float, float]]:
    return [_view_counts(base, view) for _ in range(SCRAPES)]


def _visit(base: str, path: str, times: int) -> None:
    for _ in range(times):  # a connection each, as browsers behind a balancer spread
        page = fetch(base + path, timeout=30)
        assert page.status == 200, f"{path} answered {page.status}"


def _leaves(pid: int) -> list:
    """The processes under ``pid`` that started none of their own: the server's workers."""
    import psutil

    tree = psutil.Process(pid).children(recursive=True)
    return [process for process in tree if not process.children()]


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _settled(process, seconds: float = 30) -> None:
    """Wait until ``process`` (a worker just started) has finished starting: its CPU time
    stops growing, as it does once the project is imported and it waits for requests."""
    def used() -> float:
        times = process.cpu_times()
        return times.user + times.system

    deadline = time.monotonic() + seconds
    last = used()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = used()
        if now - last < 0.02:
            return
        last = now


def _read(scrapes: list[tuple[float, float]]) -> str:
    return ", ".join(f"{responses:g}" for responses, _ in scrapes)


def _all_read(scrapes: list[tuple[float, float]], wanted: int) -> bool:
    return all(responses == wanted and timed == wanted for responses, timed in scrapes)


def test_10_1_metrics_add_up_across_workers(project):
    slug = project.probe(SETTINGS, PRODUCT_PROBE)["slug"]
    path, view = f"/products/{slug}/", "product_detail"
    env = _metrics_env()
    with procfile_server(project, SETTINGS, METRICS_WORKERS, "/products/",
                         extra_env=env) as (base, server):
        port = int(base.rsplit(":", 1)[1])
        for who, token in (("without a token", None), ("with a wrong token", "guess")):
            page = _scrape(base, token)
            assert page.status in (401, 403, 404) and b"# TYPE" not in page.body, (
                f"{who}, /metrics answered {page.status} with the metrics: anyone who finds "
                "the address reads the shop's traffic, its views' names and its error rates. "
                "Answer only a request with Authorization: Bearer <METRICS_TOKEN> (from the "
                "environment), 404 for the rest [hint 1]")
        before = _view_counts(base, view)
        assert before == (0, 0), (
            f"before any visit to {path}, /metrics already counted {before[0]:g} of its "
            "responses")
        _visit(base, path, METRICS_REQUESTS)
        after = _scrapes(base, view)
        assert any(responses or timed for responses, timed in after), (
            f"after {METRICS_REQUESTS} requests to {path}, {SCRAPES} scrapes of /metrics found "
            f"no counter of its responses by view and status and no latency histogram by "
            "view: django-prometheus counts them with its two middleware, Before first in "
            "MIDDLEWARE and After last, and its app in INSTALLED_APPS. If they are there, "
            "PROMETHEUS_MULTIPROC_DIR was set after prometheus_client was imported, and the "
            "view adds up the files of an empty directory [hint 2]")
        assert _all_read(after, METRICS_REQUESTS), (
            f"after {METRICS_REQUESTS} requests to {path}, {SCRAPES} scrapes of /metrics read "
            f"{_read(after)}: each of the {METRICS_WORKERS} workers counts the requests it "
            "served, in its own memory, and a scrape shows the numbers of whichever worker "
            "answers it. Prometheus would chart noise. Keep the counts in files every worker "
            "writes and the scrape adds up: prometheus_client's multiprocess mode "
            "(PROMETHEUS_MULTIPROC_DIR) [hint 2]")

        workers = _leaves(server.pid)
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)  # as a crash, or the kernel's OOM killer, would
        respawned = _wait(lambda: victim.pid not in {p.pid for p in _leaves(server.pid)}
                          and len(_leaves(server.pid)) >= len(workers), 20)
        assert respawned, (
            f"a worker killed (pid {victim.pid}) was not started again within 20 s: the "
            "server must replace a worker that dies (08.4)")
        for process in _leaves(server.pid):
            if process.pid not in {worker.pid for worker in workers}:
                _settled(process)  # the new worker has imported the project
        _visit(base, path, 3)
        after_kill = _scrapes(base, view)
        assert _all_read(after_kill, METRICS_REQUESTS + 3), (
            f"a worker was killed and started again (as a crash, the OOM killer or a "
            f"max-requests restart do), and {SCRAPES} scrapes then read {_read(after_kill)} "
            f"instead of {METRICS_REQUESTS + 3}. A counter never goes down: the dead worker's "
            "requests were served and must stay counted. Its numbers are in its own files "
            "until the directory is emptied, and only the server's start, before any worker, "
            "may empty it (a worker that empties it when it starts wipes everyone's) [hint 3]")
        _visit(base, path, MORE_REQUESTS)
        total = METRICS_REQUESTS + 3 + MORE_REQUESTS
        with procfile_server(project, SETTINGS, 2, "/products/", extra_env=env) as (other, _):
            beside = _scrapes(base, view)
            theirs = _view_counts(other, view)
        assert theirs == (0, 0), (
            f"a second server of the shop, started beside the first on this machine (another "
            f"port, as `course services up --scale 2` runs them), counted {theirs[0]:g} "
            f"responses of {path} before serving it once: it adds up the first server's files "
            "too, as they share one metrics directory. Give each server a directory of its "
            "own (its port can name it) [hint 3]")
        assert _all_read(beside, total), (
            f"once a second server of the shop was started beside the first on this machine "
            f"(another port, as `course services up --scale 2` runs them), the first read "
            f"{_read(beside)} instead of {total}: the second's start emptied the directory "
            "the first keeps its numbers in. Give each server a directory of its own (its "
            "port can name it) [hint 3]")
    with procfile_server(project, SETTINGS, 2, "/products/", port=port, extra_env=env) as (
            base, _):
        restarted = _view_counts(base, view)
    assert restarted == (0, 0), (
        f"the server was stopped and started again on the same port, and /metrics still "
        f"counted {restarted[0]:g} responses of {path} from the last run: the files of the "
        "workers of the last run were added in. Empty the directory each time the server "
        "starts, before its workers do (in the Procfile's web line, or gunicorn's on_starting "
        "hook) [hint 3]")
