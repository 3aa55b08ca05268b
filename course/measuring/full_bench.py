"""``course bench --full``: the starter as shipped against another project state (yours, or the
reference), in one run, on copies of the same data, written up as a Markdown report with PNG
charts under ``.course/reports/<time>/``.

What is measured, for each side:

* every page of the shop in process (Django's test client, each project in its own
  process): queries, median and p95 ms, bytes (:func:`course.measuring.bench.measure_state`);
* a few pages under load: the project's own production server (its ``Procfile``) behind
  nginx, with Locust (:data:`LOAD_PAGES`). nginx runs the course's plain proxy
  (:data:`PROXY`) for both sides: the starter's balancer template does not pass the Host
  on (chapter 11's first exercise), so its every answer would be a 400;
* a first visit and a repeat visit an hour later, by a model of a browser's cache, with the
  production settings under gunicorn: requests and bytes, static files apart;
* the production checks: ``manage.py check --deploy --fail-level WARNING``.

A part that cannot run for one side (a Procfile that does not start, say) is reported as
such, with its reason, and the rest of the report is still written.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course import paths
from course.measuring.measure import Comparison, PageMeasurement

LOAD_PAGES = ("product list", "trending", "product detail")  # names in pages.shop_pages()
VISIT_PATHS = ("/products/", "/trending/")
REPORTS = paths.STATE / "reports"
PROXY = Path(__file__).with_name("bench_proxy.conf.template")
Report = Callable[[str], None]


@dataclass
class Side:
    """One project state's numbers; a part that could not run leaves its reason in
    ``problems`` (part → one line) and its numbers empty."""

    name: str
    target: Path
    pages: list[PageMeasurement] = field(default_factory=list)
    load: dict[str, dict[str, Any]] = field(default_factory=dict)  # page name → locust's row
    visits: dict[str, dict[str, int]] = field(default_factory=dict)  # first/repeat → totals
    checks: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def _attempt(side: Side, part: str, action: Callable[[], None], report: Report) -> None:
    try:
        action()
    except Exception as error:  # noqa: BLE001 - said in the report, the rest still runs
        reason = " ".join(str(error).split()) or type(error).__name__
        side.problems[part] = reason[:300]
        report(f"  {side.name}: {part} could not run: {reason[:200]}")


def _pages(side: Side, repeat: int, report: Report) -> None:
    from course.measuring import bench

    side.pages = bench.measure_state(side.target, repeat=repeat, label=side.name,
                                     report=report)


def _load_paths(side: Side) -> dict[str, str]:
    """The paths of :data:`LOAD_PAGES`, as the in-process part found them (a product's page
    needs a real slug); without that part, the pages whose path is fixed."""
    known = {page.name: page.url for page in side.pages}
    fixed = {"product list": "/products/", "trending": "/trending/"}
    return {name: known.get(name) or fixed[name] for name in LOAD_PAGES
            if known.get(name) or name in fixed}


def _load(side: Side, users: int, seconds: int, report: Report) -> None:
    from course.measuring import balancing, load
    from course.services import free_port, nginx

    wanted = _load_paths(side)
    with balancing.instances(side.target, 1, workers=2) as served, \
            tempfile.TemporaryDirectory(prefix="course-bench-lb-") as scratch:
        port = free_port()
        values = balancing.balancer_values(port, [base for base, _ in served])
        with nginx.running([PROXY], values, Path(scratch), port, project=side.target):
            for number, (name, path) in enumerate(wanted.items(), start=1):
                report(f"  {side.name} [{number}/{len(wanted)}] {name}: {users} users "
                       f"for {load.run_seconds(seconds)} s behind nginx …")
                side.load[name] = load.locust(f"http://127.0.0.1:{port}", path, users=users,
                                              seconds=seconds)


def _visits(side: Side, report: Report) -> None:
    from course.measuring import visits

    report(f"  {side.name}: collectstatic, gunicorn, a first and a repeat visit …")
    with visits.serve_production(side.target, probe_path=VISIT_PATHS[0]) as base:
        seen = visits.first_and_repeat(base, list(VISIT_PATHS))
    side.visits = {when: visits.totals(rows) for when, rows in seen.items()}


def _checks(side: Side, report: Report) -> None:
    from course.measuring import production_settings

    report(f"  {side.name}: manage.py check --deploy --fail-level WARNING …")
    [row] = production_settings.deploy_check({side.name: side.target})
    side.checks = row


def measure(sides: dict[str, Path], *, repeat: int = 5, users: int = 8, seconds: int = 5,
            report: Report = print) -> list[Side]:
    """Every part for every side, one side after the other (load runs never overlap)."""
    from course.measuring import load

    measured = [Side(name, target) for name, target in sides.items()]
    parts: list[tuple[str, Callable[[Side], None]]] = [
        ("pages", lambda side: _pages(side, repeat, report)),
        ("load", lambda side: _load(side, users, seconds, report)),
        ("visits", lambda side: _visits(side, report)),
        ("checks", lambda side: _checks(side, report)),
    ]
    for number, (part, action) in enumerate(parts, start=1):
        report(f"[{number}/{len(parts)}] {part}" + (
            f" (Locust, {load.run_seconds(seconds)} s a page)" if part == "load" else ""))
        for side in measured:
            _attempt(side, part, lambda side=side, action=action: action(side), report)
    return measured


# The report ----------------------------------------------------------------------------------

def _ratio(first: float | None, second: float | None, *, higher_is_better: bool) -> str:
    """How many times better the second side is than the first ("12× fewer"), or how many
    times worse; "–" when either is missing."""
    if first is None or second is None:
        return "–"
    better, worse = (second, first) if higher_is_better else (first, second)
    if worse == 0 and better == 0:
        return "the same"
    if worse == 0:
        return "down to 0" if not higher_is_better else "–"
    ratio = better / worse
    if 0.95 <= ratio <= 1.05:
        return "about the same"
    return f"{ratio:.1f}× better" if ratio > 1 else f"{1 / ratio:.1f}× worse"


def _sum(values: list[float]) -> float | None:
    return round(sum(values), 1) if values else None


def summary(first: Side, second: Side) -> list[dict[str, Any]]:
    """The ratios, first: one row per measure, both sides and how many times better the
    second is."""
    rows: list[dict[str, Any]] = []

    def add(measure: str, a: float | None, b: float | None, higher_is_better: bool = False
            ) -> None:
        rows.append({"measure": measure, first.name: a, second.name: b,
                     "ratio": _ratio(a, b, higher_is_better=higher_is_better)})

    shared = sorted({p.name for p in first.pages} & {p.name for p in second.pages})
    mine = {p.name: p for p in first.pages}
    theirs = {p.name: p for p in second.pages}
    if shared:
        add(f"queries, {len(shared)} pages together",
            sum(mine[n].queries for n in shared), sum(theirs[n].queries for n in shared))
        add("median ms, pages together", _sum([mine[n].median_ms for n in shared]),
            _sum([theirs[n].median_ms for n in shared]))
        add("p95 ms, pages together", _sum([mine[n].p95_ms for n in shared]),
            _sum([theirs[n].p95_ms for n in shared]))
    for page in LOAD_PAGES:
        a, b = first.load.get(page), second.load.get(page)
        if a or b:
            add(f"req/s under load, {page}", a and a["req_per_s"], b and b["req_per_s"],
                higher_is_better=True)
            add(f"p95 ms under load, {page}", a and a["p95_ms"], b and b["p95_ms"])
            failed = [f"{side.name} {run['failures']:,} of {run['requests']:,}"
                      for side, run in ((first, a), (second, b)) if run and run["failures"]]
            if failed:
                rows[-2]["ratio"] = f"– (failed: {', '.join(failed)})"
    for when, label in (("first", "a first visit"), ("repeat", "a repeat visit an hour on")):
        a, b = first.visits.get(when), second.visits.get(when)
        if a or b:
            add(f"static bytes, {label}", a and a["static bytes"], b and b["static bytes"])
            add(f"requests, {label}", a and a["requests"], b and b["requests"])
    if first.checks or second.checks:
        add("check --deploy warnings", first.checks.get("warnings"),
            second.checks.get("warnings"))
    return rows


def page_rows(first: Side, second: Side) -> Comparison:
    """Every page both sides measured, side by side (charts draw these)."""
    from course.measuring.measure import compare

    rows = compare(first.pages, second.pages, sides=(first.name, second.name))
    mine, theirs = {p.name: p for p in first.pages}, {p.name: p for p in second.pages}
    for row in rows:
        row["p95_ms_before"] = mine[row["name"]].p95_ms
        row["p95_ms_after"] = theirs[row["name"]].p95_ms
    return rows


def load_rows(first: Side, second: Side) -> Comparison:
    rows = Comparison(sides=(first.name, second.name))
    for page in LOAD_PAGES:
        a, b = first.load.get(page), second.load.get(page)
        if a and b:
            rows.append({"name": page, "req_per_s_before": a["req_per_s"],
                         "req_per_s_after": b["req_per_s"], "p95_ms_before": a["p95_ms"],
                         "p95_ms_after": b["p95_ms"], "failures_before": a["failures"],
                         "failures_after": b["failures"]})
    return rows


def machine() -> str:
    """The machine, in one line: CPUs, memory, system, Python, Django."""
    import django

    memory = ""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages * size / 2**30:.0f} GiB of memory"
    except (ValueError, OSError, AttributeError):
        pass
    cpu = platform.processor() or platform.machine()
    return (f"{os.cpu_count() or '?'} CPU(s) ({cpu}){memory}, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, Django "
            f"{django.get_version()}")


def charts(first: Side, second: Side, folder: Path) -> dict[str, str]:
    """PNG charts of the comparisons, written into ``folder``: title → file name."""
    from course.measuring.charts import bar_chart

    drawn: dict[str, str] = {}
    pages, loads = page_rows(first, second), load_rows(first, second)
    wanted = [("Queries per page", pages, "queries", True, "queries.png"),
              ("Median ms per page, in process", pages, "median_ms", True, "median_ms.png"),
              ("Requests per second under load, behind nginx", loads, "req_per_s", True,
               "req_per_s.png")]
    for title, rows, metric, log, name in wanted:
        if rows:
            bar_chart(rows, metric=metric, title=title, log=log).savefig(
                folder / name, dpi=110, bbox_inches="tight")
            drawn[title] = name
    return drawn


def markdown(first: Side, second: Side, *, drawn: dict[str, str], took: float, data: str,
             repeat: int, users: int, seconds: int) -> str:
    """The report: ratios first, then each part, then how it was measured."""
    from course.measuring import load, tables

    out = [f"# Bench report: {second.name} against the {first.name}\n",
           f"{time.strftime('%Y-%m-%d %H:%M')} · {took:.0f} s · data: {data}  ",
           f"Machine: {machine()}\n",
           f"## Ratios ({second.name} against the {first.name}, measured in this run)\n",
           tables.markdown(summary(first, second))]
    problems = [f"- {side.name}, {part}: {reason}" for side in (first, second)
                for part, reason in side.problems.items()]
    if problems:
        out += ["Parts that could not run (their rows are missing):\n", *problems, ""]
    for title, name in drawn.items():
        out.append(f"![{title}]({name})\n")
    out += [f"## Every page, in process ({repeat} timed runs each)\n",
            tables.markdown(page_rows(first, second))]
    out += [f"## Under load: the production server behind nginx ({users} users, "
            f"{load.run_seconds(seconds)} s a page)\n",
            tables.markdown(load_rows(first, second))]
    visit_rows = [{"visit": when, **{f"{k} ({side.name})": side.visits.get(when, {}).get(k)
                                     for side in (first, second)
                                     for k in ("requests", "bytes", "static bytes")}}
                  for when in ("first", "repeat")]
    out += [f"## A first and a repeat visit ({', '.join(VISIT_PATHS)}, an hour apart)\n",
            tables.markdown(visit_rows)]
    out += ["## Production checks\n",
            tables.markdown([{"project": side.name,
                             "check --deploy --fail-level WARNING":
                                 ("passes" if side.checks.get("passes") else "fails")
                                 if side.checks else None,
                             "warnings": side.checks.get("which")} for side in (first, second)])]
    out += ["## How this was measured\n",
            f"- Both projects ran on copies of the same data ({data}), one after the other, "
            "each in processes of its own; ratios compare the two sides of this one run. "
            "Each side had a Redis database of its own for its cache and its broker (no "
            "worker ran the tasks it sent) and an analytics collector of its own that takes "
            "0.3 s to store an event, as the course's `analytics` service does.",
            "- In process: Django's test client, every page once to warm up, then "
            f"{repeat} timed requests; medians and p95, queries counted as statements "
            "(transaction control left out). Caches are warm after the first request, as "
            "on a busy site: a page kept whole runs no query.",
            "- Under load: one instance of each project, started from its Procfile with 2 "
            "workers and production settings, behind nginx (the same plain proxy for both: "
            "Host passed on, keepalive to the app); Locust, headless, "
            f"{users} users without pauses. A run with failed requests has no ratio.",
            "- Visits: production settings under gunicorn, a model of a browser's HTTP cache "
            "(max-age, immutable, ETag revalidation), the repeat visit an hour later.",
            "- Production checks: manage.py check --deploy --fail-level WARNING with the "
            "variables a platform sets.", ""]
    return "\n".join(out)


def data_described() -> str:
    """What the copies are made from: the database and its size."""
    from course.project import commands

    if commands.learner_db() == "postgres":
        return "a copy of the course's PostgreSQL database"
    source = commands.learner_sqlite()
    import sqlite3

    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as connection:
            counts = {table: connection.execute(f"SELECT COUNT(*) FROM shop_{table}").fetchone()[0]
                      for table in ("product", "order", "review")}
        return (f"SQLite, {counts['product']:,} products, {counts['order']:,} orders, "
                f"{counts['review']:,} reviews")
    except sqlite3.Error:
        return f"SQLite ({source})"


def run(sides: dict[str, Path], *, repeat: int = 5, users: int = 8, seconds: int = 5,
        folder: Path | None = None, report: Report = print) -> Path:
    """Measure ``sides`` (two: name → project folder, the baseline first) and write the
    report and its charts into ``folder`` (default: a new one under ``.course/reports/``);
    returns the report's path."""
    if len(sides) != 2:
        raise ValueError("a full bench compares two project states")
    started = time.monotonic()
    data = data_described()
    first, second = measure(sides, repeat=repeat, users=users, seconds=seconds, report=report)
    folder = folder or REPORTS / time.strftime("bench-%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    drawn = charts(first, second, folder)
    text = markdown(first, second, drawn=drawn, took=time.monotonic() - started, data=data,
                    repeat=repeat, users=users, seconds=seconds)
    path = folder / "report.md"
    path.write_text(text, encoding="utf-8")
    return path
