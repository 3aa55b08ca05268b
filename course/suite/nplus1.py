"""Find N+1 queries anywhere in a project state: every page, signed in and out, the API,
the exports, placing an order and ordering again (with the confirmation email), and the
admin's change lists, add, change and delete pages of every model.

Each URL is requested with every cache emptied first (a cache may hide work, never excuse
it); a finding is a statement shape (literals as ``?``) that one request runs
``REPEATS`` times or more — on the small data used here, that is a query per row. The
course's final reference must have none; the starter must have some (so the scan can
fail).

    python3 -m course.suite.nplus1 [reference|starter]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from course import paths

REPEATS = 3
MARK = "@@nplus1@@"


@dataclass(frozen=True)
class Finding:
    page: str
    url: str
    shape: str
    times: int

    def line(self) -> str:
        shape = self.shape if len(self.shape) <= 160 else self.shape[:157] + "…"
        return f"{self.page} ({self.url}): {self.times}× {shape}"


def scan(target: Path) -> list[Finding]:
    """Seed a scratch SQLite database for ``target``, request everything, return findings."""
    from course.project import commands

    with tempfile.TemporaryDirectory(prefix="course-nplus1-") as tmp:
        database = str(Path(tmp) / "scan.sqlite3")
        extra = {"COURSE_SQLITE_PATH": database, "COURSE_DB": "sqlite"}
        commands.prepare_database("tiny", target=target, **extra)
        done = subprocess.run(
            [sys.executable, "-m", "course.suite.nplus1", "--child", str(target)],
            env=commands.manage_env(target, **extra), capture_output=True, text=True,
            cwd=paths.ROOT, timeout=600)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(MARK)), None)
    if done.returncode != 0 or line is None:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"the N+1 scan of {target} failed: {' / '.join(tail)}")
    return [Finding(**row) for row in json.loads(line[len(MARK):])]


# --------------------------------------------------------------------------- in the child


def _pages(client_for: Any) -> list[tuple[str, str, str, Any, dict[str, Any] | None]]:
    """(label, method, url, client, data) for everything the scan requests."""
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.urls import reverse
    from shop.models import Customer, Order, Product

    from course.measuring.pages import shop_pages

    anonymous = client_for(None)
    customer = (Customer.objects.filter(user__isnull=False)
                .annotate(n=Count("orders")).order_by("-n", "pk").first())
    signed_in = client_for(customer.user if customer else None)
    staff = get_user_model().objects.create_superuser("nplus1-admin", "admin@example.com", None)
    admin_client = client_for(staff)

    found: list[tuple[str, str, str, Any, dict[str, Any] | None]] = []
    for name, url in shop_pages().items():
        found.append((name, "get", url, anonymous, None))
        found.append((f"{name}, signed in", "get", url, signed_in, None))
    if customer is not None:
        dashboard = reverse("shop:customer_dashboard", args=[customer.pk])
        found.append(("customer dashboard (own)", "get", dashboard, signed_in, None))
        earlier = (customer.orders.exclude(items__product__is_active=False)
                   .annotate(n=Count("items")).order_by("-n", "pk").first())
        if earlier is not None:
            found.append(("order again", "post",
                          reverse("shop:order_again", args=[customer.pk]), signed_in,
                          {"order_id": earlier.pk}))
    products = list(Product.objects.filter(is_active=True).order_by("pk")[:4])
    if customer is not None and products:
        found.append(("place an order", "post", reverse("shop:place_order"), signed_in,
                      {"customer_id": customer.pk,
                       "product_ids": ",".join(str(product.pk) for product in products),
                       "quantities": ",".join("2" for _ in products)}))
    # The admin: every model's list, add form, and the change and delete pages of the row
    # with the most related rows (an order with many lines, a customer with many orders).
    busiest = {
        Order: Order.objects.annotate(n=Count("items")).order_by("-n", "pk").first(),
        Customer: Customer.objects.annotate(n=Count("orders")).order_by("-n", "pk").first(),
    }
    for model in admin.site._registry:
        meta = model._meta
        base = f"admin:{meta.app_label}_{meta.model_name}"
        label = f"admin {meta.verbose_name}"
        found.append((f"{label} list", "get", reverse(f"{base}_changelist"), admin_client, None))
        found.append((f"{label} add", "get", reverse(f"{base}_add"), admin_client, None))
        row = busiest.get(model) or model._default_manager.order_by("pk").first()
        if row is not None:
            found.append((f"{label} change", "get", reverse(f"{base}_change", args=[row.pk]),
                          admin_client, None))
            found.append((f"{label} delete", "get", reverse(f"{base}_delete", args=[row.pk]),
                          admin_client, None))
    return found


MENU = re.compile(r'<select name="([\w-]+)"[^>]*>(.*?)</select>', re.DOTALL)
MENU_LIMIT = 20  # choices; on the scan's data only a menu of a whole growing table has more


def _whole_table_menus(label: str, url: str, html: str) -> list[Finding]:
    """A form field drawn as a <select> of every row of a table that grows (every order,
    customer or product): megabytes and seconds on real data. Search or raw ids instead."""
    found = []
    for name, body in MENU.findall(html):
        choices = body.count("<option") - body.count('<option value=""')
        if choices > MENU_LIMIT and not name.endswith(("status", "action", "permissions")):
            found.append(Finding(label, url, f'<select name="{name}"> of every row', choices))
    return found


def _child(target: Path) -> None:
    from django.conf import settings

    from course.project.runtime import configure

    configure(target)
    settings.CACHES = {alias: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                               "LOCATION": f"nplus1-{alias}"} for alias in settings.CACHES}
    from django.core.cache import caches
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    try:  # tasks run in this process, so their queries count (a confirmation email …)
        from config.celery import app

        app.conf.task_always_eager = True
        app.conf.task_eager_propagates = True
    except ImportError:
        pass
    from course.measuring.measure import capturing, is_counted, normalise

    def client_for(user: Any) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    findings: list[Finding] = []
    for label, method, url, client, data in _pages(client_for):
        for cache in caches.all():
            cache.clear()
        with capturing() as captured:
            response = getattr(client, method)(url, data=data)
            if getattr(response, "streaming", False):
                for _ in response.streaming_content:
                    pass
        if response.status_code >= 500 or (method == "post" and response.status_code >= 400):
            raise SystemExit(f"{label} ({url}) answered {response.status_code}")
        shapes = Counter(normalise(c.sql) for c in captured if is_counted(c.sql))
        findings.extend(Finding(label, url, shape, times)
                        for shape, times in shapes.items() if times >= REPEATS)
        if label.startswith("admin") and not getattr(response, "streaming", False):
            findings.extend(_whole_table_menus(label, url, response.content.decode()))
    print(MARK + json.dumps([asdict(f) for f in findings]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m course.suite.nplus1",
                                     description="Find N+1 queries in a project state.")
    parser.add_argument("state", nargs="?", default="reference",
                        help="reference (the final one, default), starter, or a folder")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(Path(args.state))
        return 0
    from course import catalog
    from course.project import states

    cat = catalog.load()
    target = {"reference": lambda: states.reference_state(cat, states.final_chapter(cat)),
              "starter": lambda: paths.STARTER}.get(args.state, lambda: Path(args.state))()
    findings = scan(target)
    for finding in findings:
        print(finding.line())
    print(f"{len(findings)} finding(s) in {target}")
    return 1 if findings else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
