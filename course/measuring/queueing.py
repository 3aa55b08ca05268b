"""Blocking or queued: what a slow mail server and a heavy report cost a request, under load.

For each project state (yours, a reference), on a copy of your data: gunicorn
serves it, a private SMTP server answers slowly (a provider having a bad
day), and, when the state has a Celery app, a worker runs its tasks with a
broker of its own (Redis database 12). Concurrent clients place orders and
request reports over real HTTP, each request timed; a sampler reads the
broker's queue length, the mailbox and the report folder meanwhile, so the
queue can be watched filling and draining::

    from course.measuring import queueing
    runs = queueing.compare(reference_through="06")
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course import paths, services
from course.measuring import bench, load
from course.project import commands
from course.services.celery_process import Worker
from course.services.mailserver import PrivateServer

BROKER_DB = 12  # the measurements' Celery broker and results; emptied per run
QUEUE = "celery"
WORKER_PROCESSES = 4  # prefork, Celery's default pool


@dataclass
class Run:
    """One kind of request against one project state."""

    name: str
    latencies_ms: list[float]
    failures: int
    wall_s: float
    done_s: float | None  # until every email was delivered / every report was ready
    timeline: list[tuple[float, int, int]] = field(default_factory=list)  # (s, queued, done)

    def row(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)] if ordered else None
        return {
            "name": self.name,
            "requests": len(self.latencies_ms),
            "failures": self.failures,
            "median_ms": round(statistics.median(ordered), 1) if ordered else None,
            "p95_ms": round(p95, 1) if p95 is not None else None,
            "req_per_s": round(len(ordered) / self.wall_s, 1) if self.wall_s else None,
            "all_done_s": round(self.done_s, 2) if self.done_s is not None else None,
        }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 302 is the answer we time, not the page it points to


class Browser:
    """One client with its own cookies (and so its own CSRF token)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect())

    def get(self, path: str) -> tuple[int, bytes]:
        return self._send(urllib.request.Request(self.base + path))

    def post(self, path: str, data: dict[str, Any]) -> tuple[int, bytes]:
        token = next((c.value for c in self.cookies if c.name == "csrftoken"), "")
        body = urllib.parse.urlencode(data, doseq=True).encode()
        request = urllib.request.Request(self.base + path, data=body, headers={
            "X-CSRFToken": token, "Referer": self.base + "/"})
        return self._send(request)

    def _send(self, request: urllib.request.Request) -> tuple[int, bytes]:
        try:
            with self.opener.open(request, timeout=300) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


SHOP_IDS = """
import json
from shop.models import Customer, Product
print("@@ids@@" + json.dumps({
    "customers": list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:50]),
    "products": list(Product.objects.filter(is_active=True).order_by("pk")
                     .values_list("pk", flat=True)[:50]),
}))
"""


def _shop_ids(target: Path, env: dict[str, str]) -> dict[str, list[int]]:
    extra = {k: v for k, v in env.items() if k in ("COURSE_SQLITE_PATH", "COURSE_DB",
                                                     "DATABASE_URL")}
    output = commands.manage("shell", "-c", SHOP_IDS, target=target, capture=True,
                            **extra).stdout
    line = next(ln for ln in output.splitlines() if ln.startswith("@@ids@@"))
    return json.loads(line[len("@@ids@@"):])


def _broker(flush: bool = False) -> Any:
    import redis

    url = services.redis_url(BROKER_DB)
    if url is None:
        raise load.LoadError("no Redis: run `python3 -m course services up`")
    client = redis.Redis.from_url(url)
    if flush:
        client.flushdb()
    return client


@contextmanager
def _served(target: Path, folder: Path, smtp_delay: float) -> Iterator[tuple[str, Any]]:
    """gunicorn (and a worker, if the state has a Celery app) on a copy of your data."""
    broker_url = services.redis_url(BROKER_DB) or ""
    with ExitStack() as stack:
        mail = PrivateServer(folder / "smtp").start()
        stack.callback(mail.stop)
        mail.behave(delay_seconds=smtp_delay)
        env = stack.enter_context(bench.migrated_copy(target))
        env.update(COURSE_GRADING_SMTP_PORT=str(mail.port), SHOP_REPORTS_DIR=str(folder / "reports"),
                   CELERY_BROKER_URL=broker_url, CELERY_RESULT_BACKEND=broker_url,
                   # reports on this disk, where the run counts them, even once they are kept
                   # in the object store (chapter 11)
                   SHOP_REPORTS_BUCKET="")
        _broker(flush=True)
        stack.callback(_broker, True)  # emptied again afterwards, whatever happens
        if services.project_has_celery_app(target):
            worker = Worker(target, env, folder / "worker.log", "measure",
                            concurrency=WORKER_PROCESSES).start()
            stack.callback(worker.stop)
        base = stack.enter_context(load.gunicorn("config.wsgi:application", env, cwd=target))
        yield base, mail


def _browsers(base: str, users: int, prepare: Callable[[Browser], Any]) -> list[Browser]:
    browsers = [Browser(base) for _ in range(users)]
    for browser in browsers:
        prepare(browser)
    return browsers


def _drive(browsers: list[Browser], per_user: int,
           act: Callable[[Browser, int], tuple[int, bytes]],
           ok: Callable[[int], bool],
           answered: Callable[[], None] = lambda: None,
           ) -> tuple[list[float], int, float, list[bytes]]:
    """The clients side by side, ``per_user`` timed requests each."""
    users = len(browsers)
    latencies: list[float] = []
    bodies: list[bytes] = []
    failures = 0
    lock = threading.Lock()

    def one_user(number: int) -> None:
        nonlocal failures
        for step in range(per_user):
            started = time.perf_counter()
            status, body = act(browsers[number], number * per_user + step)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if ok(status):
                    latencies.append(elapsed)
                    bodies.append(body)
                else:
                    failures += 1
            answered()

    started = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        list(pool.map(one_user, range(users)))
    return latencies, failures, time.perf_counter() - started, bodies


class _Sampler:
    """Queue length and finished work, ten times a second, from the broker and the disk; with
    ``live``, a status line rewritten in place twice a second while the run goes on."""

    def __init__(self, done: Callable[[], int], *, label: str = "", requests: int = 0,
                 finished: str = "done", live: bool = False) -> None:
        self.done = done
        self.samples: list[tuple[float, int, int]] = []
        self.started = time.perf_counter()
        self.label, self.requests, self.finished, self.live = label, requests, finished, live
        self.answers = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def answered(self) -> None:
        """One more request has had its answer."""
        with self._lock:
            self.answers += 1

    def _run(self) -> None:
        broker = _broker()
        shown = 0.0
        while not self._stop.is_set():
            # Waiting in the queue, or handed to a worker and not acknowledged yet.
            pending = int(broker.llen(QUEUE)) + int(broker.hlen("unacked"))
            now = round(time.perf_counter() - self.started, 2)
            self.samples.append((now, pending, self.done()))
            if self.live and now - shown >= 0.5:
                self._show()
                shown = now
            self._stop.wait(0.1)

    def _show(self, end: str = "") -> None:
        at, pending, done = self.samples[-1] if self.samples else (0.0, 0, 0)
        print(f"\r{self.label}: {self.answers}/{self.requests} answered · {pending} in the "
              f"broker · {self.finished}: {done} · {at:.1f} s   ", end=end, flush=True)

    def wait_for(self, expected: int, timeout: float) -> float | None:
        """Seconds from the start until ``done()`` reached ``expected``, or None."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.done() >= expected:
                return time.perf_counter() - self.started
            time.sleep(0.05)
        return None

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.3)  # a last sample or two of the empty queue
        self._stop.set()
        self._thread.join()
        if self.live:
            self._show(end="\n")


def place_orders(base: str, mail: PrivateServer, ids: dict[str, list[int]], label: str, *,
                 users: int, per_user: int, live: bool = False) -> Run:
    customers, products = ids["customers"], ids["products"]

    def act(browser: Browser, number: int) -> tuple[int, bytes]:
        return browser.post("/orders/place/", {
            "customer_id": customers[number % len(customers)],
            "product_ids": [products[number % len(products)],
                            products[(number * 7 + 3) % len(products)]],
            "quantities": [1, 2],
        })

    def delivered() -> int:
        return len(list(mail.maildir.glob("*.eml"))) if mail.maildir.exists() else 0

    # The dashboard sets the CSRF cookie.
    browsers = _browsers(base, users, lambda browser: browser.get(f"/customers/{customers[0]}/"))
    with _Sampler(delivered, label=f"place order ({label})", requests=users * per_user,
                  finished="emails delivered", live=live) as sampler:
        latencies, failures, wall, _ = _drive(browsers, per_user, act,
                                              lambda status: status == 302, sampler.answered)
        done = sampler.wait_for(len(latencies), timeout=120)
    return Run(f"place order: {label}", latencies, failures, wall, done, sampler.samples)


def request_reports(base: str, folder: Path, label: str, *, users: int, per_user: int,
                    live: bool = False) -> Run:
    reports = folder / "reports"

    def act(browser: Browser, number: int) -> tuple[int, bytes]:
        return browser.post("/reports/sales/jobs/", {"format": "csv"})

    def ready() -> int:
        return len(list(reports.glob("*.csv"))) if reports.exists() else 0

    browsers = _browsers(base, users, lambda browser: browser.get("/reports/sales/"))
    with _Sampler(ready, label=f"sales report ({label})", requests=users * per_user,
                  finished="reports written", live=live) as sampler:
        latencies, failures, wall, _ = _drive(browsers, per_user, act,
                                              lambda status: status in (200, 202),
                                              sampler.answered)
        done = sampler.wait_for(len(latencies), timeout=300)
    return Run(f"sales report: {label}", latencies, failures, wall, done, sampler.samples)


def measure_state(target: Path, label: str, *, smtp_delay: float = 1.0, users: int = 8,
                  orders_per_user: int = 3, report_users: int = 4,
                  live: bool = False) -> list[Run]:
    """Request reports, then place orders, against one project state. (In that order: the
    report's window counts back from the newest order, and new orders are dated today.)"""
    with tempfile.TemporaryDirectory(prefix="course-queue-") as tmp:
        folder = Path(tmp)
        with _served(target, folder, smtp_delay) as (base, mail):
            ids = _shop_ids(target, {})
            reports = request_reports(base, folder, label, users=report_users, per_user=1,
                                      live=live)
            orders = place_orders(base, mail, ids, label, users=users, per_user=orders_per_user,
                                  live=live)
    return [orders, reports]


def compare(*, reference_through: str = "06", smtp_delay: float = 1.0, users: int = 8,
            orders_per_user: int = 3, report_users: int = 4, live: bool = True) -> list[Run]:
    """Your project, then the reference, under the same load, on copies of the same data; with
    ``live``, a line per run shows requests answered, the broker's queue and finished work as
    they change."""
    from course import catalog
    from course.project import states

    reference = states.reference_state(catalog.load(), reference_through)
    if os.environ.get("COURSE_QUICK"):  # the course's own test suite: fewer requests
        users, orders_per_user, report_users = min(users, 4), 1, min(report_users, 2)
    runs: list[Run] = []
    for target, label in ((paths.STARTER, "yours"), (reference, f"reference {reference_through}")):
        runs += measure_state(target, label, smtp_delay=smtp_delay, users=users,
                              orders_per_user=orders_per_user, report_users=report_users,
                              live=live)
    return runs


def comparison(runs: list[Run]) -> list[dict[str, Any]]:
    """Yours against the reference, per kind of request: rows with ``_before``/``_after``
    values (shown as yours/reference), as :func:`course.measuring.measure.bar_chart` draws
    them."""
    from course.measuring.measure import Comparison

    rows = Comparison(sides=("yours", "reference"))
    for kind in ("place order", "sales report"):
        before, after = (run.row() for run in runs if run.name.startswith(kind + ":"))
        row: dict[str, Any] = {"name": kind}
        for metric in ("median_ms", "p95_ms", "req_per_s", "all_done_s", "failures"):
            row[f"{metric}_before"] = before[metric]
            row[f"{metric}_after"] = after[metric]
        if before["median_ms"] and after["median_ms"]:
            row["median_ratio"] = round(before["median_ms"] / after["median_ms"], 1)
        rows.append(row)
    return rows


def timeline_chart(runs: list[Run], *, title: str = "") -> Any:
    """Pending tasks and finished work over time, one panel per run."""
    from course.measuring import measure

    chart = measure.figure(figsize=(4.2 * len(runs), 3.2))
    axes = chart.subplots(1, len(runs), squeeze=False)[0]
    for axis, run in zip(axes, runs, strict=True):
        seconds = [s[0] for s in run.timeline]
        axis.step(seconds, [s[1] for s in run.timeline], where="post",
                  label="tasks waiting or running")
        axis.step(seconds, [s[2] for s in run.timeline], where="post",
                  label="emails delivered" if run.name.startswith("place") else "reports ready")
        axis.axvline(run.wall_s, color="grey", linestyle=":", label="last answer sent")
        axis.set_title(run.name, fontsize=9)
        axis.set_xlabel("seconds")
        highest = max((max(s[1], s[2]) for s in run.timeline), default=0)
        axis.set_ylim(0, max(highest, 1) * 1.6)  # room above the lines for the legend
        axis.legend(fontsize=7, loc="upper left")
    if title:
        chart.suptitle(title)
    chart.tight_layout()
    return chart
