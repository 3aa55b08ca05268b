"""Notebook 13's measurements of selectors and services: what a selector costs called on its
own against the page that shows it, how a service's queries grow with an order's lines, what
a visitor gets when an order names a product taken off sale, and the performance tests of
13.3 run against the regressed shops (``course.measuring.regressions``), and the CI
workflow of 13.4 run against broken ones (``course.measuring.workflow``).

Each project is measured in a process of its own, on a migrated scratch copy of the
learner's data; every order placed there is rolled back.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MARK = "@@course-layers@@"

CHILD = r"""
import json, statistics, sys, time
import django
django.setup()
from django.core.cache import cache
from django.db import connection, reset_queries, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from shop.models import Customer, Order, Product

MARK, REPEATS, LINES = sys.argv[1], int(sys.argv[2]), [int(n) for n in sys.argv[3].split(",")]
result = {"selector": None, "service": None}


def timed(action):
    # The median time of REPEATS calls in ms, and the queries of the last one.
    times = []
    for _ in range(REPEATS):
        cache.clear()
        reset_queries()  # the log holds at most 9,000 statements: start each count empty
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            action()
            times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2), statements(captured)


def statements(captured):
    # Queries, not the SAVEPOINTs of an atomic block inside another.
    return sum(1 for query in captured.captured_queries
               if "SAVEPOINT" not in query["sql"].split(" ", 3)[:3])


with override_settings(CACHES={"default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
    client = Client()
    print("[1/3] the catalogue", file=sys.stderr, flush=True)
    page_ms, page_queries = timed(lambda: client.get("/products/?page=1"))
    result["page"] = {"ms": page_ms, "queries": page_queries}
    try:
        from shop.selectors import catalogue_page
    except ImportError:
        catalogue_page = None
    if callable(catalogue_page):
        def read():
            for row in catalogue_page(page=1)["rows"]:
                (row["product"].name, row["category"], list(row["tags"]), row["rating"])
        selector_ms, selector_queries = timed(read)
        result["selector"] = {"ms": selector_ms, "queries": selector_queries}

    print("[2/3] placing orders", file=sys.stderr, flush=True)
    customer = Customer.objects.order_by("pk").first()
    on_sale = list(Product.objects.filter(is_active=True).order_by("pk")[:max(LINES)])
    try:
        from shop.services import place_order
    except ImportError:
        place_order = None
    if callable(place_order):
        rows = []
        for size in LINES:
            with transaction.atomic():
                lines = [(product.pk, 1) for product in on_sale[:size]]
                with CaptureQueriesContext(connection) as captured:
                    place_order(customer=customer, lines=lines)
                rows.append({"lines": size, "queries": statements(captured)})
                transaction.set_rollback(True)
        result["service"] = rows

    print("[3/3] an order for a product taken off sale", file=sys.stderr, flush=True)
    with transaction.atomic():
        off_sale = on_sale[1]
        Product.objects.filter(pk=off_sale.pk).update(is_active=False)
        before = Order.objects.count()
        answer = Client(raise_request_exception=False).post("/orders/place/", {
            "customer_id": customer.pk, "product_ids": [on_sale[0].pk, off_sale.pk],
            "quantities": [1, 1]})
        body = answer.content.decode("utf-8", "replace")
        result["off_sale"] = {
            "status": answer.status_code,
            "names the product": f"id {off_sale.pk}" in body,
            "orders written": Order.objects.count() - before,
        }
        transaction.set_rollback(True)
print(MARK + json.dumps(result))
"""


def _measure(target: Path, label: str, repeats: int, lines: tuple[int, ...]) -> dict[str, Any]:
    from course.measuring import bench

    with bench.migrated_copy(target) as env:
        line = bench.run_child(
            [sys.executable, "-c", CHILD, MARK, str(repeats), ",".join(map(str, lines))],
            env, f"measuring {label}'s selectors and services", MARK, label=label)
    return json.loads(line)


def measured(states: dict[str, Path], *, repeats: int = 15,
             lines: tuple[int, ...] = (1, 4, 16, 64)) -> dict[str, dict[str, Any]]:
    """What each project (label → folder) does; a project without the selector or the
    service (the starter) has None for it."""
    return {label: _measure(target, label, repeats, lines) for label, target in states.items()}


def selector_rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The catalogue's first page asked as a page (the whole stack: middleware, view,
    template) and as a selector (the rows alone), for each project that has one."""
    rows = []
    for label, result in results.items():
        rows.append({"project": label, "asked as": "the page (test client)",
                     "queries": result["page"]["queries"], "median ms": result["page"]["ms"]})
        if result["selector"]:
            rows.append({"project": label, "asked as": "catalogue_page()",
                         "queries": result["selector"]["queries"],
                         "median ms": result["selector"]["ms"]})
    return rows


def service_rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """A service's queries for orders of growing size, for each project that has one."""
    return [{"project": label, "lines": row["lines"], "queries": row["queries"]}
            for label, result in results.items() for row in result["service"] or []]


def off_sale_rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"project": label, "status": result["off_sale"]["status"],
             "says which product": "yes" if result["off_sale"]["names the product"] else "no",
             "orders written": result["off_sale"]["orders written"]}
            for label, result in results.items()]


def regression_rows(runs: list[Any], tests: str) -> list[dict[str, Any]]:
    """One row per shop a test module ran against: whether it caught the regression."""
    rows = []
    for run in runs:
        if run.regression is None and run.ran == 0:
            verdict = "no test yet"
        elif run.regression is None:
            verdict = "pass (as it must)" if run.passed else "FAIL: the tests are wrong"
        else:
            verdict = "caught" if not run.passed else "MISSED"
        failing = ", ".join(problem.split(": ")[1] for problem in run.problems) or "–"
        rows.append({"tests": tests, "shop": run.label, "tests run": run.ran,
                     "verdict": verdict, "failing tests": failing,
                     "seconds": round(run.seconds, 1)})
    return rows


def workflow_rows(runs: list[Any]) -> list[dict[str, Any]]:
    """One row per shop a workflow's commands ran in: where it stopped, and how soon."""
    rows = []
    for run in runs:
        stopped = run.stopped_at
        if run.regression is None:
            verdict = "passes (as it must)" if stopped is None else "stops: the workflow is wrong"
        else:
            verdict = "MISSED: passes" if stopped is None else "stopped"
        said = stopped.tail.splitlines()[-1] if stopped and stopped.tail else ""
        rows.append({"shop": run.label, "verdict": verdict,
                     "at step": stopped.step.name if stopped else "–",
                     "its last line": said[:160] or "–",
                     "steps run": len(run.results), "seconds": round(run.seconds, 1)})
    return rows
