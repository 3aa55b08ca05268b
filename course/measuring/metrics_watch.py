"""What Prometheus would see during a load run, without a Prometheus server (chapter 10)::

    from course import metrics_watch
    with metrics_watch.serving(reference) as base:           # its Procfile, your data
        scrapes = metrics_watch.watch(base, "/products/some-slug/", seconds=20)
    rows = metrics_watch.over_time(scrapes, view="shop:product_detail")

``serving`` starts a project state from its Procfile's web line on a migrated copy of your
data, with the production settings and a metrics token. ``watch`` runs locust against one
page and, meanwhile, scrapes ``/metrics`` every second as Prometheus does (with the token),
parsing each answer with ``prometheus_client``'s own parser. ``over_time`` turns successive
scrapes into what a dashboard charts: for each interval the request rate, the share of
5xx answers, the 50th, 95th and 99th percentiles of the latency histogram (interpolated
inside its buckets, as PromQL's ``histogram_quantile`` does) and the queries per request.

``scrape_spread`` asks for a page ``n`` times and scrapes a few times, to show whether the
numbers of several workers add up (exercise 10.1). ``with_n_plus_one`` copies a project state
and puts an N+1 back into its product page, for the dashboard to show.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course.measuring import bench, load, procfile, visits

TOKEN = "course-notebook-metrics-token"
RESPONSES = "django_http_responses_total_by_status_view_method"
LATENCY = "django_http_requests_latency_seconds_by_view_method"


@dataclass
class Scrape:
    """One answer of ``/metrics``: when it came (monotonic seconds), its status, and its
    samples as ``(name, labels, value)``."""

    at: float
    status: int
    samples: list[tuple[str, dict[str, str], float]]

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples named ``name`` whose labels include ``labels``."""
        return sum(value for sample, found, value in self.samples
                   if sample == name and all(found.get(k) == v for k, v in labels.items()))

    def where(self, name: str, test: Any) -> float:
        """The sum of the samples named ``name`` whose labels pass ``test``."""
        return sum(value for sample, found, value in self.samples
                   if sample == name and test(found))

    def names(self) -> set[str]:
        return {name for name, _, _ in self.samples}


def scrape(base: str, token: str | None = TOKEN) -> Scrape:
    """``GET /metrics`` as Prometheus sends it, parsed."""
    from prometheus_client.parser import text_string_to_metric_families

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    page = visits.fetch(f"{base}/metrics", headers=headers, timeout=10)
    samples = []
    if page.status == 200:
        for family in text_string_to_metric_families(page.body.decode("utf-8", "replace")):
            samples.extend((s.name, dict(s.labels), s.value) for s in family.samples)
    return Scrape(time.monotonic(), page.status, samples)


@contextmanager
def serving(target: Path, *, workers: int = 3, probe_path: str = "/products/",
            extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """``target`` started from its Procfile on a migrated copy of your data, with its
    production settings and ``METRICS_TOKEN`` (and ``extra_env``): its base URL."""
    with tempfile.TemporaryDirectory(prefix="course-metrics-") as scratch, \
            bench.migrated_copy(Path(target)) as env:
        env = {**visits.production_env(env, Path(scratch) / "static"), "METRICS_TOKEN": TOKEN,
               **(extra_env or {})}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the project decides where its workers count
        visits.collect_static(Path(target), env)
        with procfile.serve(Path(target), env, workers=workers, probe_path=probe_path) as (
                base, _):
            yield base


def watch(base: str, path: str, *, seconds: int = 20, users: int = 8,
          every: float = 1.0) -> list[Scrape]:
    """Load ``path`` with locust for ``seconds`` and scrape ``/metrics`` every ``every``
    seconds meanwhile (and once before and after): the scrapes, in order."""
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["load"] = load.locust(base, path, users=users, seconds=seconds)
        except Exception as error:  # reported below, in the caller's thread
            outcome["error"] = error
        finally:
            done.set()

    scrapes = [scrape(base)]
    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    while not done.wait(every):
        scrapes.append(scrape(base))
    scrapes.append(scrape(base))
    if "error" in outcome:
        raise outcome["error"]
    return scrapes


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The ``q`` quantile of a histogram from its cumulative ``(upper bound, count)``
    buckets, interpolating linearly inside the bucket it falls in (PromQL's
    ``histogram_quantile``); None when the histogram is empty."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # past the last finite bucket: its bound is all we know
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def _buckets(scrape: Scrape, name: str, view: str) -> dict[float, float]:
    found: dict[float, float] = {}
    for sample, labels, value in scrape.samples:
        if sample == f"{name}_bucket" and labels.get("view") == view:
            bound = float(labels["le"])
            found[bound] = found.get(bound, 0.0) + value
    return found


def _queries_family(scrapes: list[Scrape]) -> str | None:
    """The name of the histogram of queries per request, if the project has one."""
    for name in sorted(scrapes[-1].names()):
        if "quer" in name and name.endswith("_count"):
            return name.removesuffix("_count")
    return None


def over_time(scrapes: list[Scrape], view: str) -> list[dict[str, Any]]:
    """Per interval between two scrapes: requests per second to ``view``, the share
    answered 5xx, latency percentiles (ms) and queries per request."""
    queries = _queries_family(scrapes)
    start = scrapes[0].at
    rows = []
    for before, after in zip(scrapes, scrapes[1:], strict=False):
        seconds = after.at - before.at
        answered = (after.total(f"{RESPONSES}_total", view=view)
                    - before.total(f"{RESPONSES}_total", view=view))
        failed = (after.where(f"{RESPONSES}_total", lambda labels: labels.get("view") == view
                              and labels.get("status", "").startswith("5"))
                  - before.where(f"{RESPONSES}_total", lambda labels: labels.get("view") == view
                                 and labels.get("status", "").startswith("5")))
        now, then = _buckets(after, LATENCY, view), _buckets(before, LATENCY, view)
        delta = [(bound, count - then.get(bound, 0.0)) for bound, count in now.items()]
        row: dict[str, Any] = {
            "second": round(after.at - start, 1),
            "req_per_s": round(answered / seconds, 1) if seconds > 0 else 0.0,
            "error_share": round(failed / answered, 3) if answered else 0.0,
        }
        for q in (0.5, 0.95, 0.99):
            value = quantile(q, delta)
            row[f"p{round(q * 100)}_ms"] = None if value is None else round(value * 1000, 1)
        if queries:
            count = (after.total(f"{queries}_count", view=view)
                     - before.total(f"{queries}_count", view=view))
            total = (after.total(f"{queries}_sum", view=view)
                     - before.total(f"{queries}_sum", view=view))
            row["queries_per_request"] = round(total / count, 1) if count else None
        rows.append(row)
    return rows


def scrape_spread(base: str, path: str, view: str, *, requests: int = 100,
                  scrapes: int = 6) -> dict[str, Any]:
    """Ask for ``path`` ``requests`` times (a connection each), then scrape ``scrapes``
    times: what each scrape counted for ``view``, against what was sent."""
    before = scrape(base)
    if before.status != 200:
        return {"sent": requests, "metrics_status": before.status, "each_scrape_read": []}
    first = before.total(f"{RESPONSES}_total", view=view)
    for _ in range(requests):
        visits.fetch(base + path, timeout=30)
    read = [scrape(base).total(f"{RESPONSES}_total", view=view) - first
            for _ in range(scrapes)]
    return {"sent": requests, "metrics_status": before.status,
            "each_scrape_read": [round(value) for value in read]}


N_PLUS_ONE_FILE = "shop/views/product_detail.py"
N_PLUS_ONE_FIX = '.select_related("customer")'


@contextmanager
def with_n_plus_one(target: Path) -> Iterator[Path]:
    """A copy of ``target`` whose product page loads each review's customer in a query of its
    own (chapter 02's N+1, put back): the folder, removed afterwards."""
    view = Path(target) / N_PLUS_ONE_FILE
    source = view.read_text(encoding="utf-8")
    if N_PLUS_ONE_FIX not in source:
        raise ValueError(f"{view} does not load the reviews' customers with "
                         f"{N_PLUS_ONE_FIX}: there is no N+1 fix to take out")
    with tempfile.TemporaryDirectory(prefix="course-n-plus-one-") as scratch:
        copy = Path(scratch) / "project"
        shutil.copytree(target, copy, ignore=shutil.ignore_patterns(
            "__pycache__", "static_root", "*.sqlite3"))
        (copy / N_PLUS_ONE_FILE).write_text(source.replace(N_PLUS_ONE_FIX, "", 1),
                                            encoding="utf-8")
        yield copy


def release(states: dict[str, Path], path: str, view: str, *, seconds: int = 15,
            users: int = 8) -> list[dict[str, Any]]:
    """Each project state in turn, as one release after another: served, loaded on ``path``
    for ``seconds`` while ``/metrics`` is scraped every second; the dashboard's rows of all
    of them on one clock, each row naming the release it belongs to."""
    rows: list[dict[str, Any]] = []
    offset = 0.0
    for name, target in states.items():
        print(f"  {name}: starting it from its Procfile …", flush=True)
        with serving(target) as base:
            print(f"  {name}: {load.run_seconds(seconds)} s of load, /metrics every second …",
                  flush=True)
            found = over_time(watch(base, path, seconds=seconds, users=users), view)
        # The first and last seconds hold locust's ramp up and wind down: left out, when the
        # run is long enough to spare them (the suite's short runs are not).
        busy = [row for row in found if row["req_per_s"]]
        busy = busy[1:-1] if len(busy) > 4 else busy
        for row in busy:
            rows.append({**row, "second": round(row["second"] + offset, 1), "release": name})
        offset = rows[-1]["second"] if rows else offset
    return rows


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per release, the median of each panel's seconds, and the ratio of its rate to the
    first release's."""
    import statistics

    found: list[dict[str, Any]] = []
    for name in dict.fromkeys(row["release"] for row in rows):
        mine = [row for row in rows if row["release"] == name]
        line: dict[str, Any] = {"name": name, "seconds": len(mine)}
        for metric in ("req_per_s", "p50_ms", "p95_ms", "error_share", "queries_per_request"):
            values = [row[metric] for row in mine if row.get(metric) is not None]
            line[metric] = round(statistics.median(values), 2) if values else None
        found.append(line)
    first = found[0]["req_per_s"] if found else None
    for line in found:
        line["rate_vs_first"] = (round(line["req_per_s"] / first, 2)
                                 if first and line["req_per_s"] is not None else None)
    return found


PANELS = (("req_per_s", "requests per second"), ("latency", "latency (ms)"),
          ("error_share", "share answered 5xx"), ("queries_per_request", "queries per request"))


def dashboard(rows: list[dict[str, Any]], title: str = "") -> Any:
    """Four panels over time, as a Grafana dashboard shows them: rate, latency percentiles,
    error share and queries per request, a dotted line where each release begins."""
    from course.measuring import charts

    figure = charts.figure(figsize=(11, 6.5))
    axes_grid = figure.subplots(2, 2, sharex=True)
    seconds = [row["second"] for row in rows]
    starts = [row["second"] for before, row in zip([None, *rows], rows, strict=False)
              if before is not None and before["release"] != row["release"]]
    for axes, (metric, label) in zip(axes_grid.flat, PANELS, strict=True):
        if metric == "latency":
            for name, style in (("p50_ms", "-"), ("p95_ms", "--"), ("p99_ms", ":")):
                axes.plot(seconds, [row.get(name) for row in rows], style, color="#3b6fb6",
                          label=name.removesuffix("_ms"))
            axes.legend(loc="upper left", fontsize=8)
        else:
            axes.plot(seconds, [row.get(metric) for row in rows], color="#3b6fb6")
        for start in starts:
            axes.axvline(start, color="#888888", linestyle=":")
        axes.set_title(label, fontsize=10)
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
    for axes in axes_grid[1]:
        axes.set_xlabel("seconds")
    releases = list(dict.fromkeys(row["release"] for row in rows))
    figure.suptitle(title or " → ".join(releases), fontsize=11)
    return figure


def log_line_cost(target: Path, path: str = "/products/", *, pairs: int = 3, users: int = 16,
                  seconds: int = 3, workers: int = 2) -> dict[str, Any]:
    """``path`` served by ``target`` twice side by side, once logging at INFO (a line per
    request) and once at WARNING (no request lines), loaded in pairs: the medians of each
    and of the pairs' ratios (``floor.paired``), and the lines each request left."""
    from course.measuring import floor

    lines: dict[str, int] = {}
    with serving(target, workers=workers, extra_env={"DJANGO_LOG_LEVEL": "INFO"}) as logged, \
            serving(target, workers=workers, extra_env={"DJANGO_LOG_LEVEL": "WARNING"}) as quiet:
        bases = {"INFO": logged, "WARNING": quiet}
        for level, base in bases.items():  # the lines 20 requests leave, one at a time
            before = _line_count(base)
            for _ in range(20):
                visits.fetch(base + path, timeout=30)
            time.sleep(0.5)
            lines[level] = round((_line_count(base) - before) / 20, 2)
        found = floor.in_pairs({level: (base, path) for level, base in bases.items()}, pairs,
                               users=users, seconds=seconds)
    compared = floor.paired(found["INFO"], found["WARNING"])
    return {"name": f"{path}: a JSON line per request, against none",
            "logged_req_per_s": compared["page_req_per_s"],
            "unlogged_req_per_s": compared["floor_req_per_s"],
            "logged_vs_unlogged": compared["vs_floor"],
            "lines_per_request_logged": lines["INFO"],
            "lines_per_request_unlogged": lines["WARNING"]}


def _line_count(base: str) -> int:
    log = load.server_log(base)
    return len(log.read_text(errors="replace").splitlines()) if log.exists() else 0


def json_lines(base: str) -> list[dict[str, Any]]:
    """Every JSON line the server serving ``base`` has written to its output, parsed."""
    import json

    log = load.server_log(base)
    found = []
    for line in (log.read_text(errors="replace").splitlines() if log.exists() else []):
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def slow_statements(target: Path, paths: list[str], *, threshold_ms: int = 10
                    ) -> list[dict[str, Any]]:
    """``target`` served with ``SLOW_QUERY_MS=threshold_ms``; each of ``paths`` asked once:
    the slow-statement lines it logged (time, SQL, the request's id and path)."""
    rows = []
    with serving(target, workers=2, extra_env={"SLOW_QUERY_MS": str(threshold_ms)}) as base:
        asked = {}
        for path in paths:
            request_id = visits.fetch(base + path, timeout=60).header("X-Request-ID")
            asked[request_id] = path
        time.sleep(0.5)
        for line in json_lines(base):
            if "sql" in line and line.get("request_id") in asked:
                rows.append({"page": asked[line["request_id"]],
                             "duration_ms": line.get("duration_ms"),
                             "sql": " ".join(str(line["sql"]).split())[:140]})
    return rows


TIMING_ENTRY = re.compile(r"^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)((?:\s*;\s*[^;,]+)*)\s*$")


def parse_server_timing(header: str) -> dict[str, dict[str, str]]:
    """A ``Server-Timing`` header parsed: each metric's name (lower case) and its parameters
    (``dur``, ``desc``), values unquoted; entries that are not well formed are left out."""
    found: dict[str, dict[str, str]] = {}
    for entry in header.split(","):
        match = TIMING_ENTRY.match(entry)
        if not match:
            continue
        params = {}
        for part in match.group(2).split(";"):
            name, _, value = part.strip().partition("=")
            if name:
                params[name.lower()] = value.strip().strip('"')
        found[match.group(1).lower()] = params
    return found


def server_timing(base: str, path: str) -> dict[str, Any]:
    """``path``'s ``Server-Timing`` header, read as a browser's tools read it: each entry's
    duration (ms) by name, with the time nobody accounted for (app minus db and cache)."""
    page = visits.fetch(base + path, timeout=60)
    row: dict[str, Any] = {"name": path, "status": page.status}
    for name, params in parse_server_timing(page.header("Server-Timing")).items():
        try:
            row[f"{name}_ms"] = float(params["dur"])
        except (KeyError, ValueError):
            continue
    if "app_ms" in row:
        row["other_ms"] = round(row["app_ms"] - row.get("db_ms", 0) - row.get("cache_ms", 0), 1)
    return row
