"""Chapter 05 — Caching with a real Redis: graders.

Everything runs against the course's Redis, database 15 or the run's slot (``REDIS_URL`` in the
graders' environment), which each test empties first: the learner's own cache
and sessions in database 0 are never touched. These tests use the project's
cache settings as they are (``real_cache``).
"""

from __future__ import annotations

import os

import pytest
from django.test import Client
from django.urls import reverse

from course.measuring.measure import counted, queries_for

pytestmark = [pytest.mark.django_db, pytest.mark.real_cache]

CACHE_PROBE = """
from django.core.cache import caches
cache = caches["default"]
cache.set("course-probe", "written by the grader")
report(backend=f"{type(cache).__module__}.{type(cache).__name__}",
       key=cache.make_key("course-probe"), value=cache.get("course-probe"),
       timeout=cache.default_timeout)
"""


def test_05_1_redis_cache_from_the_environment(project, redis_db, measured):
    results = {}
    for settings in ("config.settings.dev", "config.settings.production"):
        redis_db.flushdb()
        probe = project.probe(settings, CACHE_PROBE)
        results[settings] = probe
        where = f"under {settings}"
        assert probe["value"] == "written by the grader", (
            f"{where} the cache does not give back what was stored ({probe['backend']})"
        )
        key = probe["key"].encode()
        assert redis_db.exists(key), (
            f"{where} the cache ({probe['backend']}) stored nothing in the Redis at REDIS_URL: "
            "read the address from the environment, not a fixed one"
        )
        assert probe["key"] != ":1:course-probe", (
            f"{where} keys have no prefix: set KEY_PREFIX so several sites can share one Redis"
        )
        ttl = redis_db.ttl(key)
        assert 0 < ttl <= 24 * 3600, (
            f"{where} a key stored without a timeout lives {'forever' if ttl < 0 else f'{ttl} s'}"
            ": give the cache a default TIMEOUT of at most a day"
        )
    production = results["config.settings.production"]
    measured(f"{production['backend'].rsplit('.', 1)[-1]}, key {production['key']}, "
             f"TTL {production['timeout']} s", target="keys in the course's Redis")


def _signed_in(django_user_model, name: str) -> Client:
    user = django_user_model.objects.create_user(username=name, password=None)
    browser = Client()
    browser.force_login(user)
    return browser


def test_05_2_cached_product_list(shop, redis_db, django_user_model, measured):
    shop("tiny")
    url = reverse("shop:product_list")
    anonymous = Client()
    responses, counts = [], []
    for _ in range(2):
        response, count, _ = counted(anonymous.get, url)
        responses.append(response)
        counts.append(count)
    first, second = responses
    assert first.status_code == second.status_code == 200
    measured(f"{counts[0]} → {counts[1]}", target="0 queries for the second anonymous request",
             unit="queries")
    assert first.content == second.content, "the cached page differs from the page it caches"
    assert counts[1] == 0, (
        f"the second anonymous request ran {counts[1]} queries: cache the page, and the "
        "count ShopStatusMiddleware makes on every request"
    )
    vary = {part.strip().lower() for part in second.get("Vary", "").split(",")}
    assert "cookie" in vary, (
        "the product list shows who is signed in, so its response must say `Vary: Cookie`"
    )
    alice = _signed_in(django_user_model, "alice-grader")
    bob = _signed_in(django_user_model, "bob-grader")
    for _ in range(2):  # the second round is served from the cache, if anything is
        alice_page = alice.get(url).content.decode()
        bob_page = bob.get(url).content.decode()
        anonymous_page = anonymous.get(url).content.decode()
        assert "alice-grader" in alice_page, "Alice's page does not show that she is signed in"
        assert "alice-grader" not in bob_page, "Bob was served Alice's page"
        assert "bob-grader" in bob_page, "Bob's page does not show that he is signed in"
        assert "grader" not in anonymous_page, "an anonymous visitor was served a customer's page"


SESSION_PROBE = """
from importlib import import_module
from django.conf import settings
store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=%r)
report(user_id=store.get("_auth_user_id"), engine=settings.SESSION_ENGINE)
"""


def test_05_6_sessions_in_redis(client, shop, redis_db, django_user_model, project, measured):
    shop("tiny")
    user = django_user_model.objects.create_user(username="carol-grader", password=None)
    client.force_login(user)
    session_key = client.cookies["sessionid"].value
    url = reverse("shop:order_list")
    client.get(url)  # the first read may fill the cache
    count, statements = queries_for(lambda: client.get(url))
    from_database = [sql for sql in statements if "django_session" in sql]
    measured(f"{len(from_database)} session queries", target="0: sessions read from Redis")
    assert not from_database, (
        f"a signed-in request still reads its session from the database: {from_database[0][:120]}"
    )
    in_redis = [key for key in redis_db.keys("*") if session_key.encode() in key]
    assert in_redis, "the session is not in Redis"
    probe = project.probe("grading_settings", SESSION_PROBE % session_key)
    assert str(probe["user_id"]) == str(user.pk), (
        "another app server (a separate process) cannot read the session: it must live in "
        f"Redis, shared by every process (SESSION_ENGINE is {probe['engine']})"
    )


def _best(limit=5):
    from shop.bestsellers import best_sellers

    rows, count, _ = counted(best_sellers, limit=limit)
    return count, rows


def test_05_4_best_sellers_cached_and_fresh(client, shop, redis_db, measured):
    from shop.models import Customer, Order, OrderItem, Product

    shop("tiny")
    computed, rows = _best()
    cached, again = _best()
    measured(f"{computed} → {cached}", target="0 queries once computed", unit="queries")
    assert again == rows, "the cached best sellers differ from the computed ones"
    assert cached == 0, f"the second call ran {cached} queries: keep the result in the cache"

    listed = {row["slug"] for row in rows}
    product = Product.objects.exclude(slug__in=listed).order_by("pk").first()
    order = Order.objects.create(customer=Customer.objects.order_by("pk").first(),
                                 status="pending")
    OrderItem.objects.create(order=order, product=product, quantity=1_000,
                             unit_price=product.price)
    assert product.slug not in {r["slug"] for r in _best()[1]}, (
        "a pending order counts as sold: only paid or shipped orders do"
    )
    order.status = "paid"
    order.save()
    top = _best()[1][0]
    assert top["slug"] == product.slug and top["units"] >= 1_000, (
        f"an order of 1,000 × {product.name} was just paid, but the best sellers still show "
        f"{top['name']} first: forget the cached list when orders change"
    )
    page = client.get(reverse("shop:product_detail", args=[product.slug])).content.decode()
    assert f"{product.name}</a>" in page.split("Best sellers", 1)[-1], (
        "the product page's best sellers are stale"
    )
    order.status = "cancelled"
    order.save()
    assert product.slug not in {r["slug"] for r in _best()[1]}, (
        "the order was cancelled, but the best sellers still count it"
    )
    line = order.items.get()
    order.status = "shipped"
    order.save()
    line.quantity = 1
    line.save()
    assert product.slug not in {r["slug"] for r in _best()[1]}, (
        "an order line changed to 1 unit, but the best sellers still count 1,000"
    )


OUTAGE_PROBE = """
import logging, os, signal, socket, time
import redis
from django.test import Client
from shop.models import Product

records = []


class Remember(logging.Handler):
    def emit(self, record):
        if record.name != "django.request":  # a 500 is not graceful
            records.append(f"{record.levelname} {record.name}: {record.getMessage()}"[:200])


logging.getLogger().addHandler(Remember(level=logging.WARNING))
pages = ["/products/", f"/products/{Product.objects.order_by('pk').first().slug}/", "/orders/"]
client = Client(raise_request_exception=False)
before = [client.get(page).status_code for page in pages]
keys = redis.Redis.from_url(os.environ["REDIS_URL"]).dbsize()
os.kill(int(os.environ["OUTAGE_REDIS_PID"]), signal.SIGTERM)
port = int(os.environ["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
for _ in range(100):  # until the port refuses connections
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        time.sleep(0.05)
    except OSError:
        break
started = time.monotonic()
after = [client.get(page).status_code for page in pages]
report(before=before, keys=keys, after=after, seconds=time.monotonic() - started,
       records=records[:3])
"""


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_05_7_pages_survive_redis_going_down(project, measured):
    import subprocess
    import time

    import redis

    from course import services

    port = services.free_port()
    server = subprocess.Popen(
        [services.redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}/0"
        for _ in range(100):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        outage = project.probe("grading_settings", OUTAGE_PROBE, REDIS_URL=url,
                               OUTAGE_REDIS_PID=str(server.pid))
    finally:
        server.kill()
        server.wait()
    assert outage["before"] == [200, 200, 200], f"with Redis up, pages answered {outage['before']}"
    assert outage["keys"] > 0, (
        "the pages put nothing in the Redis at REDIS_URL: the project must cache in Redis "
        "(05.1) for this exercise to mean anything"
    )
    measured(f"{outage['after']} in {outage['seconds']:.2f} s with Redis stopped",
             target="[200, 200, 200], and a warning logged")
    assert outage["after"] == [200, 200, 200], (
        f"with Redis stopped, the pages answered {outage['after']}: a cache that is down must "
        "cost speed, not the page"
    )
    assert outage["records"], (
        "Redis went down and nothing was logged at WARNING or above: say so in the logs, or "
        "nobody will know the site runs without its cache"
    )


CROWD = 8


@pytest.mark.django_db(transaction=True)
def test_05_5_a_crowd_computes_once(shop, redis_db, measured):
    import threading

    from django.db import connection
    from shop.models import Product

    shop("small", reviews=0)
    url = reverse("shop:product_detail", args=[Product.objects.order_by("pk").first().slug])
    start = threading.Barrier(CROWD)
    computations: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def visitor() -> None:
        seen: list[str] = []

        def count(execute, sql, params, many, context):
            if "SUM(" in sql.upper() and "shop_orderitem" in sql:
                seen.append(sql)
            return execute(sql, params, many, context)

        browser = Client()
        try:
            with connection.execute_wrapper(count):
                start.wait()
                status = browser.get(url).status_code
        finally:
            connection.close()
        with lock:
            computations.extend(seen)
            statuses.append(status)

    crowd = [threading.Thread(target=visitor) for _ in range(CROWD)]
    for thread in crowd:
        thread.start()
    for thread in crowd:
        thread.join(timeout=60)
    assert statuses == [200] * CROWD, f"the crowd's requests answered {statuses}"
    measured(f"{len(computations)} computation(s)",
             target=f"1 for {CROWD} simultaneous first requests")
    assert len(computations) == 1, (
        f"{CROWD} visitors arriving together on an empty cache computed the best sellers "
        f"{len(computations)} times: let one compute while the others wait for its result"
    )


def _fragment_keys(redis_db) -> int:
    return sum(1 for key in redis_db.scan_iter(match="*template.cache.*"))


def test_05_3_sidebar_fragment(client, shop, redis_db, measured):
    import re

    from django.db.models import Count, Q
    from django.utils import translation
    from shop.models import Category

    shop("tiny")
    url = reverse("shop:order_list")  # a page that is not cached as a whole
    counts = []
    for _ in range(2):
        response, count, statements = counted(client.get, url)
        sidebar = [sql for sql in statements if "shop_category" in sql
                   or re.search(r'"category_id" = \d+', sql)]
        counts.append((count, len(sidebar)))
        html = response.content.decode()
    expected = Category.objects.annotate(n=Count("product", filter=Q(product__is_active=True)))
    for category in expected:
        assert re.search(rf">{re.escape(category.name)}</a>\s*<span class=\"count\">{category.n}<",
                         html), f"the sidebar no longer shows {category.name} with {category.n}"
    (first, first_sidebar), (second, second_sidebar) = counts
    measured(f"{first_sidebar} → {second_sidebar} sidebar queries",
             target="0 on the second request", unit="")
    assert second_sidebar == 0, (
        f"the second request still ran {second_sidebar} sidebar queries: cache the fragment"
    )
    english = _fragment_keys(redis_db)
    with translation.override("de"):
        client.get(url)
        client.get(url)
    assert english >= 1, (
        "no template fragment in Redis: use {% cache %} in the template, with the Redis "
        "cache of 05.1"
    )
    assert _fragment_keys(redis_db) == english + 1, (
        "a German visitor was served the English sidebar (or got two entries): key the "
        "fragment on the current language"
    )


# --------------------------------------------------------------------------- 05.8

ELSEWHERE = """
import django
django.setup()
from shop.models import Order
order = Order.objects.get(pk=%d)
order.status = "paid"
order.save()
"""


def _report_lines(client) -> tuple[int, dict[str, str]]:
    """The order-line queries a CSV request ran, and the CSV's figures by (section, key)."""
    import csv

    response, _, statements = counted(client.get, reverse("shop:sales_report_csv"))
    assert response.status_code == 200, f"the sales report CSV answered {response.status_code}"
    rows = list(csv.reader(response.content.decode().splitlines()))[1:]
    return (sum("shop_orderitem" in sql for sql in statements),
            {f"{section}:{key}": value for section, key, value in rows})


def _true_total() -> str:
    from decimal import Decimal

    from shop.models import OrderItem, recent_since
    from shop.reports import COUNTED_STATUSES, REPORT_DAYS

    items = OrderItem.objects.filter(order__created_at__gte=recent_since(days=REPORT_DAYS),
                                     order__status__in=COUNTED_STATUSES)
    return str(sum((i.unit_price * i.quantity for i in items), Decimal("0.00"))
               .quantize(Decimal("0.01")))


def _changed_elsewhere(order_id: int) -> None:
    """Mark an order paid in another process that runs the project as a worker or a shell
    would: it never loads the URLs or the views, only what Django starts."""
    import subprocess
    import sys

    from background import database_env
    from grading_settings import TARGET_DIR

    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "COURSE_DB"}}
    env.update(database_env(), DJANGO_SETTINGS_MODULE="grading_settings",
               COURSE_TARGET_DIR=str(TARGET_DIR), PYTHONPATH=os.pathsep.join(
                   [str(TARGET_DIR), os.path.dirname(__file__)]))
    done = subprocess.run([sys.executable, "-c", ELSEWHERE % order_id], env={
        k: v for k, v in env.items() if v != ""}, cwd=TARGET_DIR, capture_output=True,
        text=True, timeout=60)
    assert done.returncode == 0, f"the project could not save an order: {done.stderr[-300:]}"


@pytest.mark.django_db(transaction=True)
def test_05_8_sales_report_cached(client, shop, redis_db, measured):
    from shop.models import Order, OrderItem

    shop("tiny")
    first, figures = _report_lines(client)
    again = [_report_lines(client)[0]]
    for name in ("shop:sales_report", "shop:sales_report_pdf"):
        response, _, statements = counted(client.get, reverse(name))
        assert response.status_code == 200, f"{reverse(name)} answered {response.status_code}"
        again.append(sum("shop_orderitem" in sql for sql in statements))
    measured(f"first CSV {first} order-line queries; then CSV, page, PDF {again}",
             target="0 once the report is computed", unit="")
    assert first > 0, "the first request ran no order-line query: where do the figures come from?"
    assert again == [0, 0, 0], (
        f"after the first CSV, the CSV, the page and the PDF ran {again} order-line queries: "
        "compute the report once and read it from the cache [hint 2]")
    assert figures["total:revenue"] == _true_total(), (
        f"the report says revenue {figures['total:revenue']}, the orders say {_true_total()}")

    counted_statuses = ("paid", "shipped")
    paid = Order.objects.filter(status__in=counted_statuses, items__isnull=False).order_by(
        "-created_at").first()

    def cancel() -> None:
        paid.status = "cancelled"
        paid.save()

    def more_units() -> None:
        item = OrderItem.objects.filter(order__status__in=counted_statuses).order_by(
            "-order__created_at").first()
        item.quantity += 3
        item.save()

    def delete() -> None:
        Order.objects.filter(status__in=counted_statuses).order_by("-created_at").first().delete()

    pending = Order.objects.filter(status="pending", items__isnull=False).order_by(
        "-created_at").first()
    for label, change in (("an order cancelled with save()", cancel),
                          ("a line's quantity changed with save()", more_units),
                          ("an order deleted", delete),
                          ("an order marked paid by another process (a worker, a shell)",
                           lambda: _changed_elsewhere(pending.pk))):
        before = _report_lines(client)[1]["total:revenue"]
        change()
        after = _report_lines(client)[1]["total:revenue"]
        truth = _true_total()
        assert truth != before, f"the grader's change ({label}) did not change the revenue"
        hint = 3 if "another process" in label else 2
        assert after == truth, (
            f"after {label}, the report still says revenue {after} (it is {truth} now): delete "
            f"the cached report when an Order or an OrderItem changes [hint {hint}]")
