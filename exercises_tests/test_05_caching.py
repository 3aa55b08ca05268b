"""Chapter 05 — Caching with a real Redis: graders.

Everything runs against the course's Redis, database 15 or the run's slot (``REDIS_URL`` in the
graders' environment), which each test empties first: the learner's own cache
and sessions in database 0 are never touched. These tests use the project's
cache settings as they are (``real_cache``).

What runs in another process runs the project the way a deployment does, so nothing the
grader imports can stand in for what the project loads itself: 05.1 reads the Redis address
from the env file under dev and production settings; 05.4 saves an order in a process that
served no page; half of 05.5's crowd comes through a second app server on the test database;
05.6 reads the session there; 05.7 freezes, then stops, a Redis of its own under the project;
05.8 and 05.9 save an order in a process that never loads the views.
"""

from __future__ import annotations

import os
import re

import dashboard_page as page
import pytest
from django.test import Client
from django.urls import reverse
from grading_env import graders_env
from grading_pages import get_page

from course.measuring.measure import counted, queries_for

pytestmark = [pytest.mark.django_db, pytest.mark.real_cache]

CACHE_PROBE = """
from django.conf import settings
from django.core.cache import caches
cache = caches["default"]
try:
    cache.set("course-probe", "written by the grader")
    value, error = cache.get("course-probe"), None
except Exception as problem:
    value, error = None, f"{type(problem).__name__}: {problem}"[:200]
report(backend=f"{type(cache).__module__}.{type(cache).__name__}",
       location=str(settings.CACHES["default"].get("LOCATION", "")),
       key=cache.make_key("course-probe"), value=value, error=error,
       timeout=cache.default_timeout)
"""


def _env_file_with(tmp_path, **values: str):
    """A copy of the graders' env file (what `course services up` writes to .course/env)
    with ``values`` changed: the project must read it, as it does outside the graders."""

    from course import envfile

    path = tmp_path / "course.env"
    envfile.update({**graders_env(), **values}, path)
    return path


def test_05_1_redis_cache_from_the_environment(project, redis_db, measured, tmp_path):
    results = {}
    # The address only in the env file, as `course services up` publishes it: a project that
    # reads os.environ alone would miss it outside the graders.
    env_file = _env_file_with(tmp_path, REDIS_URL=os.environ["REDIS_URL"])
    for settings in ("config.settings.dev", "config.settings.production"):
        redis_db.flushdb()
        probe = project.probe(settings, CACHE_PROBE, REDIS_URL=None,
                              COURSE_ENV_FILE=str(env_file))
        results[settings] = probe
        where = f"under {settings}"
        assert not probe["error"], (
            f"{where} the cache ({probe['backend']}, {probe['location'] or 'no LOCATION'}) "
            f"failed: {probe['error']}. Use the Redis at REDIS_URL, read with env(), which "
            "looks in the environment and then in .course/env [hint 2]"
        )
        assert probe["value"] == "written by the grader", (
            f"{where} the cache does not give back what was stored ({probe['backend']})"
        )
        key = probe["key"].encode()
        assert redis_db.exists(key), (
            f"{where} the cache ({probe['backend']}, {probe['location'] or 'no LOCATION'}) "
            "stored nothing in the Redis at REDIS_URL: read the address with env(), which looks "
            "in the environment and then in .course/env, not a fixed one or os.environ alone; "
            "in base.py, which dev and production both use [hint 2]"
        )
        assert probe["key"] != ":1:course-probe", (
            f"{where} keys have no prefix: set KEY_PREFIX so several sites can share one Redis"
            " [hint 3]"
        )
        ttl = redis_db.ttl(key)
        assert 0 < ttl <= 24 * 3600, (
            f"{where} a key stored without a timeout lives {'forever' if ttl < 0 else f'{ttl} s'}"
            ": give the cache a default TIMEOUT of at most a day [hint 3]"
        )
    production = results["config.settings.production"]
    measured(f"{production['backend'].rsplit('.', 1)[-1]}, key {production['key']}, "
             f"TTL {production['timeout']} s", target="keys in the course's Redis")


def _queries(count: int) -> str:
    return f"{count} {'query' if count == 1 else 'queries'}"


def _signed_in(django_user_model, name: str) -> Client:
    user = django_user_model.objects.create_user(username=name, password=None)
    browser = Client()
    browser.force_login(user)
    return browser


def _check_category_filter(browser: Client, url: str) -> None:
    """The query string is part of the page: ?category=… must not get the whole catalogue
    (nor the whole catalogue one category), whichever was cached first."""
    from django.test import override_settings
    from django.utils.html import escape
    from shop.models import Category, Product

    active = Product.objects.filter(is_active=True)
    category = Category.objects.filter(product__is_active=True).order_by("pk").first()
    inside = active.filter(category=category).order_by("name").first()
    outside = active.exclude(category=category).order_by("name").first()
    with override_settings(CACHES={"default": {
            "BACKEND": "django.core.cache.backends.dummy.DummyCache"}}):
        uncached = browser.get(url, {"category": category.slug}).content.decode()
    if f">{escape(outside.name)}</a>" in uncached:
        return  # the view itself ignores ?category= (earlier code): not this exercise's doing
    for _ in range(2):  # the second round is served from the cache, if anything is
        filtered = browser.get(url, {"category": category.slug}).content.decode()
        everything = browser.get(url).content.decode()
        assert f">{escape(inside.name)}</a>" in filtered and (
                f">{escape(outside.name)}</a>" not in filtered), (
            f"{url}?category={category.slug} shows other categories' products (such as "
            f"{outside.name}): the cached page must be kept per URL, query string included"
        )
        assert f">{escape(outside.name)}</a>" in everything, (
            f"{url} shows only the {category.name} products: the page cached for "
            f"?category={category.slug} was served for the whole catalogue"
        )


def test_05_2_cached_product_list(shop, redis_db, django_user_model, measured):
    shop("tiny")
    url = reverse("shop:product_list")
    anonymous = Client()
    responses, counts = [], []
    for _ in range(2):
        response, count, statements = counted(anonymous.get, url)
        responses.append(response)
        counts.append(count)
    first, second = responses
    assert first.status_code == second.status_code == 200
    measured(f"first anonymous request {counts[0]}, second {counts[1]}", target="0 for the second",
             unit="queries")
    assert first.content == second.content, "the cached page differs from the page it caches"
    only_the_count = all("COUNT(" in sql.upper() and '"shop_order"' in sql for sql in statements)
    assert counts[1] == 0, (
        f"the second anonymous request ran {_queries(counts[1])}: the page comes from the cache, "
        "but ShopStatusMiddleware still counts the pending orders on every request: keep the "
        "count in the cache for a few seconds [hint 2]" if only_the_count else
        f"the second anonymous request ran {_queries(counts[1])}: cache the page, and the "
        "count ShopStatusMiddleware makes on every request [hint 2]"
    )
    from shop.models import Order

    pending = Order.objects.filter(status="pending").count()
    assert second.get("X-Pending-Orders") == str(pending) and (
            f"{pending} open orders" in second.content.decode()), (
        f"there are {pending} open orders, but the page says "
        f"{second.get('X-Pending-Orders')!r}: keep the count in the cache for a few seconds, "
        "do not drop it [hint 2]"
    )
    vary = {part.strip().lower() for part in second.get("Vary", "").split(",")}
    assert "cookie" in vary, (
        "the product list shows who is signed in, so its response must say `Vary: Cookie`"
        " [hint 3]"
    )
    _check_category_filter(anonymous, url)
    alice = _signed_in(django_user_model, "alice-grader")
    bob = _signed_in(django_user_model, "bob-grader")
    for _ in range(2):  # the second round is served from the cache, if anything is
        alice_page = alice.get(url).content.decode()
        bob_page = bob.get(url).content.decode()
        anonymous_page = anonymous.get(url).content.decode()
        assert "alice-grader" in alice_page, (
            "Alice, signed in, was served a page without her name: a page cached for another "
            "visitor [hint 3]")
        assert "alice-grader" not in bob_page, (
            "Bob was served Alice's page: the cached page is shared by everyone who signs in "
            "[hint 3]")
        assert "bob-grader" in bob_page, (
            "Bob, signed in, was served a page without his name: a page cached for another "
            "visitor [hint 3]")
        assert "grader" not in anonymous_page, (
            "an anonymous visitor was served a customer's page [hint 3]")


SESSION_PROBE = """
from importlib import import_module
from django.conf import settings
store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=%r)
report(user_id=store.get("_auth_user_id"), engine=settings.SESSION_ENGINE)
"""


def test_05_6_sessions_in_redis(project, client, shop, redis_db, django_user_model, measured):
    project.prepare()  # the other process's database, made before the session exists
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
        "a signed-in request still reads its session from the database "
        f"({from_database[0][:70]}…): keep sessions in the Redis cache [hint 2]"
    )
    in_redis = [key for key in redis_db.keys("*") if session_key.encode() in key]
    if not in_redis:
        from django.conf import settings

        engine = settings.SESSION_ENGINE
        if engine.endswith("signed_cookies"):
            raise AssertionError(
                "the session is not in Redis but in a signed cookie: the browser sends all of it "
                "with every request, and a session cannot be ended on the server (a stolen "
                "cookie stays valid): use the cache or cached_db engine [hint 2]")
        alias = getattr(settings, "SESSION_CACHE_ALIAS", "default")
        backend = settings.CACHES.get(alias, {}).get("BACKEND", "no cache")
        raise AssertionError(
            f"the session is not in Redis (SESSION_ENGINE {engine}, its cache {alias!r}: "
            f"{backend.rsplit('.', 1)[-1]}): every app server must read the same sessions, "
            "from the Redis cache of 05.1 [hint 3]")
    probe = project.probe("grading_settings", SESSION_PROBE % session_key)
    assert str(probe["user_id"]) == str(user.pk), (
        "another app server (a separate process) cannot read the session: it must live in "
        f"Redis, shared by every process (SESSION_ENGINE is {probe['engine']}) [hint 3]"
    )


def _best(limit=5):
    from shop.bestsellers import best_sellers

    rows, count, _ = counted(best_sellers, limit=limit)
    return count, rows


def _truth(limit=5) -> list[tuple[str, int]]:
    """What best_sellers(limit) must show, read from the database now (slug, units)."""
    from django.db.models import Sum
    from shop.models import OrderItem

    rows = (OrderItem.objects.filter(order__status__in=("paid", "shipped"))
            .values("product_id", "product__slug").annotate(units=Sum("quantity"))
            .order_by("-units", "product_id")[:limit])
    return [(row["product__slug"], row["units"]) for row in rows]


def _shown(rows) -> list[tuple[str, int]]:
    return [(row["slug"], row["units"]) for row in rows]


SAVE_ORDER_PROBE = """
import sys
from shop.models import Order
order = Order.objects.filter(**%(filters)r).order_by("pk").first()
order.save()
report(saved=order.pk, imported=%(module)r in sys.modules)
"""


def _order_saved_elsewhere(project, module: str, **filters) -> dict:
    """Save an order (the first that matches ``filters``) in another process that runs the
    project as a worker or a shell would (never loading the views); say whether ``module``
    (the receivers' home) got imported. The other process has its own copy of the tiny shop,
    seeded as the graders' is: the same ids."""
    return project.probe("grading_settings",
                         SAVE_ORDER_PROBE % {"filters": filters, "module": module})


def test_05_4_best_sellers_cached_and_fresh(client, shop, redis_db, project, measured):
    from shop.models import Customer, Order, OrderItem, Product

    shop("tiny")
    computed, rows = _best()
    cached, again = _best()
    measured(f"first call {computed}, second call {cached}", target="0 once computed", unit="queries")
    assert again == rows, "the cached best sellers differ from the computed ones"
    assert cached == 0, (
        f"the second call ran {_queries(cached)}: keep the result in the cache [hint 2]")
    assert _shown(rows) == _truth(), "best_sellers() no longer gives the best sellers"
    for limit in (3, 8):
        shown = _shown(_best(limit)[1])
        assert shown == _truth(limit), (
            f"best_sellers(limit={limit}) gave {len(shown)} products, not the top {limit}: "
            "the cached list must answer whatever limit the caller asks for"
        )

    def still_fresh(change: str, hint: int = 2) -> None:
        shown = _shown(_best()[1])
        truth = _truth()
        def top(rows):
            return ", ".join(f"{slug} ({units:,} sold)" for slug, units in rows[:2]) or "nothing"

        assert shown == truth, (
            f"{change}, but the best sellers still show {top(shown)} … instead of "
            f"{top(truth)} …: forget the cached list when that happens [hint {hint}]"
        )

    listed = {row["slug"] for row in rows}
    product = Product.objects.exclude(slug__in=listed).order_by("pk").first()
    _best()  # cached before every change below: each change alone must make it go
    order = Order.objects.create(customer=Customer.objects.order_by("pk").first(),
                                 status="pending")
    line = OrderItem.objects.create(order=order, product=product, quantity=1_000,
                                    unit_price=product.price)
    assert product.slug not in {r["slug"] for r in _best()[1]}, (
        "a pending order counts as sold: only paid or shipped orders do"
    )
    order.status = "paid"
    order.save()
    top = _best()[1][0]
    assert top["slug"] == product.slug and top["units"] >= 1_000, (
        f"an order of 1,000 × {product.name} was just paid, but the best sellers still show "
        f"{top['name']} first: forget the cached list when an order is saved [hint 2]"
    )
    page = client.get(reverse("shop:product_detail", args=[product.slug])).content.decode()
    assert f"{product.name}</a>" in page.split("Best sellers", 1)[-1], (
        "the product page's best sellers are stale"
    )
    order.status = "cancelled"
    order.save()
    still_fresh("the order was cancelled (an Order saved)")
    order.status = "shipped"
    order.save()
    _best()
    line.quantity = 1
    line.save()
    still_fresh("an order line changed from 1,000 units to 1 (an OrderItem saved)")
    _best()
    extra = OrderItem.objects.create(order=order, product=product, quantity=2_000,
                                     unit_price=product.price)
    still_fresh("a line of 2,000 units was added to a shipped order (an OrderItem created)")
    _best()
    extra.delete()
    still_fresh("that line was deleted (an OrderItem deleted)")
    line.quantity = 3_000
    line.save()
    _best()
    order.delete()
    still_fresh("an order of 3,000 units was deleted (an Order deleted)")

    _best()
    saved = _order_saved_elsewhere(project, "shop.bestsellers")
    recomputed, _ = _best()
    assert recomputed > 0, (
        "an order saved in another process (a Celery worker, the admin on another app server, "
        "a shell) left the cached best sellers in place"
        + ("" if saved["imported"] else ", because that process never imported the module "
           "that connects the receivers")
        + ": keep the list in the shared cache, and connect the receivers when Django starts, "
        "in ShopConfig.ready() (shop/apps.py) [hint 2]"
    )


FROZEN_PATIENCE = 3  # seconds a request may wait on a Redis that never answers

OUTAGE_PROBE = """
import logging, os, signal, socket, threading, time
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
from django.core.cache import cache


def answer(call):
    try:
        return repr(call())
    except Exception as error:
        return f"raised {type(error).__name__}"


# Frozen first: a Redis that takes connections and never answers (overloaded, swapping).
frozen = {}


def ask_frozen():
    started = time.monotonic()
    frozen["answer"] = answer(lambda: cache.get("course-absent", "the caller's default"))
    frozen["seconds"] = time.monotonic() - started


os.kill(int(os.environ["OUTAGE_REDIS_PID"]), signal.SIGSTOP)
asking = threading.Thread(target=ask_frozen, daemon=True)
asking.start()
asking.join(%(patience)s)
os.kill(int(os.environ["OUTAGE_REDIS_PID"]), signal.SIGCONT)
asking.join(10)
records.clear()
os.kill(int(os.environ["OUTAGE_REDIS_PID"]), signal.SIGTERM)
port = int(os.environ["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
for _ in range(100):  # until the port refuses connections
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        time.sleep(0.05)
    except OSError:
        break
started = time.monotonic()
responses = [client.get(page) for page in pages]
seconds = time.monotonic() - started
after = [response.status_code for response in responses]
errors = [f"{page}: {response.exc_info[0].__name__}: {response.exc_info[1]}"[:160]
          for page, response in zip(pages, responses) if getattr(response, "exc_info", None)]
fallback = answer(lambda: cache.get("course-absent", "the caller's default"))
computed = answer(lambda: cache.get_or_set("course-absent", lambda: "computed by the caller"))
report(before=before, keys=keys, after=after, seconds=seconds, records=records[:3],
       fallback=fallback, computed=computed, errors=errors, frozen=frozen)
""".replace("%(patience)s", str(FROZEN_PATIENCE))


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_05_7_pages_survive_redis_going_down(project, measured):
    from course import services
    from course.measuring.health_probe import private_redis

    port = services.free_port()
    server = private_redis(port)
    try:
        url = f"redis://127.0.0.1:{port}/0"
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
    frozen_seconds = outage["frozen"].get("seconds")
    measured(f"{outage['after']} in {outage['seconds']:.2f} s with Redis stopped; a cache read "
             + (f"gave up after {frozen_seconds:.1f} s"
                if frozen_seconds is not None and frozen_seconds <= FROZEN_PATIENCE
                else f"still waiting after {FROZEN_PATIENCE} s") + " with Redis frozen",
             target=f"[200, 200, 200], a warning logged, at most {FROZEN_PATIENCE} s")
    pages_fail = (f"with Redis stopped, the pages answered {outage['after']}"
                  + (f" ({outage['errors'][0]})" if outage["errors"] else "")
                  + ": a cache that is down must cost speed, not the page [hint 2]")
    fallback, computed = outage["fallback"], outage["computed"]
    if fallback.startswith("raised"):
        assert outage["after"] == [200, 200, 200], pages_fail
        raise AssertionError(f"with Redis stopped, cache.get(key, default) {fallback}: a cache "
                             "that is down must answer like a miss [hint 2]")
    assert fallback == repr("the caller's default"), (
        f"with Redis stopped, cache.get(key, default) gave {fallback} instead of the default "
        "the caller passed: a miss must answer like a miss, or get_or_set() and every caller "
        "that passes a default break [hint 2]"
    )
    assert not computed.startswith("raised"), (
        f"with Redis stopped, cache.get_or_set(key, function) {computed}: every method of the "
        "cache must answer like a miss (get_or_set uses get and add), not only get and set "
        "[hint 2]"
    )
    assert computed == repr("computed by the caller"), (
        f"with Redis stopped, cache.get_or_set(key, function) gave {computed} instead of "
        "computing the value: callers such as the header's open-order count get nothing "
        "[hint 2]"
    )
    assert outage["after"] == [200, 200, 200], pages_fail
    frozen = outage["frozen"]
    waited = (f"more than {FROZEN_PATIENCE} s" if frozen.get("seconds", 1e9) > FROZEN_PATIENCE
              else f"{frozen['seconds']:.1f} s")
    assert frozen.get("seconds", 1e9) <= FROZEN_PATIENCE, (
        f"with Redis frozen (it takes the connection, then never answers), cache.get() waited "
        f"{waited}: every request would hang as long. Give the connection short timeouts "
        "(socket_connect_timeout, socket_timeout in OPTIONS) [hint 3]"
    )
    assert frozen.get("answer") == repr("the caller's default"), (
        f"with Redis frozen, cache.get(key, default) {frozen.get('answer')} after its timeout: "
        "a timeout must answer like a miss too [hint 2]"
    )
    assert outage["records"], (
        "Redis went down and nothing was logged at WARNING or above: say so in the logs, or "
        "nobody will know the site runs without its cache [hint 2]"
    )


CROWD = 8  # visitors: half in the grading process, half in another process (an app server)
SLOW_SECONDS = 0.5  # the best sellers' query is made this slow, as on a big shop

CROWD_VISITOR = """
import threading, time
from django.db import connection
from django.test import Client


def crowd(url, size, slow_seconds, at):
    # size visitors ask for url at the clock time at (time.time())
    start = threading.Barrier(size)
    visits = []
    lock = threading.Lock()

    def visitor():
        computed = []

        def slow(execute, sql, params, many, context):
            if "SUM(" in sql.upper() and "shop_orderitem" in sql:
                computed.append(sql)
                time.sleep(slow_seconds)
            return execute(sql, params, many, context)

        browser = Client(raise_request_exception=False)
        try:
            with connection.execute_wrapper(slow):
                start.wait()
                time.sleep(max(0.0, at - time.time()))  # the same moment in every process
                response = browser.get(url)
        finally:
            connection.close()
        with lock:
            visits.append({"status": response.status_code, "computed": len(computed),
                           "body": response.content.decode("utf-8", "replace")})

    threads = [threading.Thread(target=visitor) for _ in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return visits
"""

CROWD_SCRIPT = """
import json, sys
import django
django.setup()
from django.template.loader import get_template
from django.urls import resolve
@@visitor@@
size, slow_seconds, mark = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
resolve("/")  # load the URLs and the template before the crowd, as a warm app server has
get_template("shop/product_detail.html")
print("ready", flush=True)
for line in sys.stdin:  # "warm PATH": one request, as an app server that already served some;
    verb, path, at = line.split()  # "crowd PATH AT": the crowd asks for PATH at AT
    if verb == "warm":
        print(mark + json.dumps(Client().get(path).status_code), flush=True)
    else:
        print(mark + json.dumps(crowd(path, size, slow_seconds, float(at))), flush=True)
""".replace("@@visitor@@", CROWD_VISITOR)


class OtherAppServer:
    """The project in another process on the test database: half the crowd comes through it."""

    def __init__(self, project, size: int):
        import subprocess
        import sys

        from background import database_env
        from project_runner import MARK

        self.mark = MARK
        env = project.env("grading_settings", project.workdir / "unused.sqlite3")
        env.update({k: v for k, v in database_env().items()})
        env = {k: v for k, v in env.items() if v != ""}
        self.log = project.workdir / "other-app-server.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", CROWD_SCRIPT, str(size), str(SLOW_SECONDS), MARK],
                cwd=project.target, env=env, text=True, bufsize=1,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
        self.ready = False

    def _last_words(self) -> str:
        self.process.kill()
        self.process.wait()
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no output"

    def warm(self, url: str) -> None:
        if not self.ready:
            if self.process.stdout.readline().strip() != "ready":
                raise AssertionError(
                    f"the project did not start in a second process: {self._last_words()}")
            self.ready = True
        self._send(f"warm {url} 0")
        self._answer()

    def go(self, url: str, at: float) -> None:
        self._send(f"crowd {url} {at}")

    def _send(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def visits(self) -> list[dict]:
        return self._answer()

    def _answer(self):
        line = self.process.stdout.readline()
        if not line.startswith(self.mark):
            raise AssertionError(f"the second app server failed: {self._last_words()}")
        import json

        return json.loads(line[len(self.mark):])

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()


def _listed(body: str) -> list[str]:
    """The product names in a page's best-sellers box."""
    box = body.split('class="best-sellers"', 1)
    if len(box) < 2:
        return []
    return re.findall(r'<li><a href="[^"]*">([^<]*)</a>', box[1].split("</ol>", 1)[0])


@pytest.mark.django_db(transaction=True)
def test_05_5_a_crowd_computes_once(shop, redis_db, project, measured):
    import threading
    import time

    from django.utils.html import escape
    from shop.models import Order, Product

    local = CROWD // 2
    namespace: dict = {}
    exec(CROWD_VISITOR, namespace)
    other = OtherAppServer(project, CROWD - local)  # starts while the shop is seeded
    try:
        shop("tiny")
        url = reverse("shop:product_detail", args=[Product.objects.order_by("pk").first().slug])
        other.warm(reverse("shop:order_list"))
        Client().get(reverse("shop:order_list"))
        for number in (1, 2):
            expected = [escape(Product.objects.get(slug=slug).name) for slug, _ in _truth()]
            found: list[list[dict]] = []
            at = time.time() + 0.2  # both processes' visitors start at that moment
            here = threading.Thread(target=lambda into=found, at=at: into.append(
                namespace["crowd"](url, local, SLOW_SECONDS, at)))
            other.go(url, at)
            here.start()
            here.join(timeout=90)
            visits = (found[0] if found else []) + other.visits()
            statuses = [visit["status"] for visit in visits]
            computations = sum(visit["computed"] for visit in visits)
            when = ("on an empty cache" if number == 1 else
                    "after an order was saved (the list forgotten, as in 05.4)")
            if number == 1:
                measured(f"{computations} computation(s)",
                         target=f"1 for {CROWD} simultaneous first requests")
            assert statuses == [200] * CROWD, f"the crowd's requests answered {statuses}"
            assert computations != 0, (
                f"{CROWD} visitors arrived {when} and nobody computed the best sellers: saving "
                "an order must forget the cached list (05.4)"
            )
            for visit in visits:
                listed = _listed(visit["body"])
                assert listed == expected, (
                    f"one visitor of the crowd {when} was shown "
                    f"{'no best sellers' if not listed else listed[:3]} instead of "
                    f"{expected[:3]}: the visitors who wait must get the list that was computed"
                    " [hint 2]"
                )
            if computations > 1:
                per_process = [sum(v["computed"] for v in visits[:local]),
                               sum(v["computed"] for v in visits[local:])]
                why = ""
                if per_process == [1, 1]:
                    why = (" (once per app server: a lock inside one process does not stop the "
                           "others; take it in Redis with cache.add)")
                elif number == 2:
                    why = " (the lock of the first crowd is still held: delete it once stored)"
                raise AssertionError(
                    f"{CROWD} visitors arriving together {when} computed the best sellers "
                    f"{computations} times{why}: let one compute while the others wait for "
                    "its result [hint 2]"
                )
            Order.objects.order_by("pk").first().save()  # the next crowd finds no list
    finally:
        other.stop()


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
    measured(f"first request {first_sidebar}, second request {second_sidebar}",
             target="1 when the cache misses, 0 on the second request", unit="sidebar queries")
    assert second_sidebar == 0, (
        f"the second request still ran {second_sidebar} sidebar queries: cache the fragment "
        "around the {% category_sidebar %} tag in base.html, so the tag itself does not run "
        "[hint 2]"
    )
    english = _fragment_keys(redis_db)
    # A German browser says so (LocaleMiddleware, where the project has it, picks the language
    # from the header); the override is the language where nothing picks one per request.
    with translation.override("de"):
        client.get(url, HTTP_ACCEPT_LANGUAGE="de")
        client.get(url, HTTP_ACCEPT_LANGUAGE="de")
    assert english >= 1, (
        "no template fragment in Redis: use {% cache %} in the template, with the Redis "
        "cache of 05.1 [hint 2]"
    )
    assert _fragment_keys(redis_db) == english + 1, (
        "a German visitor was served the English sidebar (or got two entries): key the "
        "fragment on the current language [hint 3]"
    )

    # When the cache misses (an entry expires, Redis restarts), the block must still be cheap.
    from shop.models import Product

    few = Category.objects.count()
    for n in range(6):
        extra = Category.objects.create(name=f"Graded {n}", slug=f"graded-{n}")
        Product.objects.create(category=extra, name=f"Graded product {n}", slug=f"graded-{n}",
                               description="", price=1, stock=1, is_active=True)
    redis_db.flushdb()
    _, _, statements = counted(client.get, url)
    missed = sum(1 for sql in statements if "shop_category" in sql
                 or re.search(r'"category_id" = \d+', sql))
    assert first_sidebar <= 1 and missed <= 1, (
        f"when its cache misses, the sidebar runs {first_sidebar} queries for {few} categories "
        f"and {missed} for {few + 6}: one COUNT per category. A cache hides that only until the "
        "entry expires or Redis is down: count every category in one query [hint 2]"
    )


# --------------------------------------------------------------------------- 05.8

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


def test_05_8_sales_report_cached(client, shop, redis_db, project, measured,
                                  django_capture_on_commit_callbacks):
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

    for label, change in (("an order cancelled with save()", cancel),
                          ("a line's quantity changed with save()", more_units),
                          ("an order deleted", delete)):
        before = _report_lines(client)[1]["total:revenue"]
        with django_capture_on_commit_callbacks(execute=True):  # as the change's commit would
            change()
        after = _report_lines(client)[1]["total:revenue"]
        truth = _true_total()
        assert truth != before, f"the grader's change ({label}) did not change the revenue"
        assert after == truth, (
            f"after {label}, the report still says revenue {after} (it is {truth} now): delete "
            "the cached report when an Order or an OrderItem changes [hint 2]")

    _report_lines(client)
    saved = _order_saved_elsewhere(project, "shop.reports")
    recomputed, _ = _report_lines(client)
    assert recomputed > 0, (
        "after an order saved by another process (a Celery worker, a shell, the admin on another "
        "app server), the cached report stayed in place"
        + ("" if saved["imported"] else ", because that process never imported the module "
           "that connects the receivers")
        + ": connect them when Django starts, in ShopConfig.ready() (shop/apps.py) [hint 3]")


# --------------------------------------------------------------------------- 05.9

_ORDER_TABLES = ("shop_order", "shop_orderitem", "shop_product")


def _on_orders(statements: list[str]) -> int:
    """How many statements read orders, their lines or products."""
    return sum(any(f'"{table}"' in sql for table in _ORDER_TABLES) for sql in statements)


def _dashboard(browser: Client, customer) -> tuple[str, int]:
    """The dashboard's HTML, and how many of its queries read orders, lines or products."""
    response, _, statements = get_page(browser, reverse("shop:customer_dashboard",
                                                        args=[customer.pk]))
    return response.content.decode(), _on_orders(statements)


def test_05_9_dashboard_orders_cached(shop, redis_db, project, measured,
                                      django_capture_on_commit_callbacks, monkeypatch):
    from datetime import timedelta

    from celery import current_app
    from django.db.models import Count
    from django.utils import timezone
    from shop.models import Customer, Order, OrderItem, Product
    from shop.views.customer_dashboard import RECENT_ORDERS_ON_DASHBOARD

    shop("tiny")
    # A confirmation queued by "Order again" runs here, at once: no broker needed.
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)
    customer, other = Customer.objects.annotate(n=Count("orders")).filter(
        n__gte=3).order_by("pk")[:2]
    products = list(Product.objects.filter(is_active=True).order_by("-pk")[:2])
    newest = Order.objects.create(customer=customer, status="paid",
                                  created_at=timezone.now() - timedelta(hours=1))
    OrderItem.objects.bulk_create(
        OrderItem(order=newest, product=product, quantity=2 + n, unit_price=product.price)
        for n, product in enumerate(products))

    def exact(html: str, whose, when: str, hint: int = 3) -> None:
        wrong = page.shown(html).difference(page.truth(whose, RECENT_ORDERS_ON_DASHBOARD))
        if wrong:
            pytest.fail(f"{when}, the dashboard of {whose.name} is not what the database says: "
                        f"{wrong} [hint {hint}]", pytrace=False)

    first_html, first = _dashboard(Client(), customer)
    exact(first_html, customer, "on the first visit", hint=1)
    visitor = Client(enforce_csrf_checks=True)  # another visitor: a session of their own
    cached_html, second = _dashboard(visitor, customer)
    measured(f"first visit {first}, second visit {second}", target="0 on the second visit",
             unit="queries on orders, lines and products")
    assert first > 0, "the first visit ran no query on orders: where do they come from?"
    if second:
        pytest.fail(
            f"a second visit to the same dashboard still ran {_queries(second)} on orders, "
            "lines or products"
            + (": nothing is cached [hint 2]" if second >= first else
               ": a value the view computes before rendering (a count, a sum) runs on every "
               "visit, cached fragment or not; let the template ask for it inside the "
               "fragment [hint 2]"), pytrace=False)
    exact(cached_html, customer, "on a second visit (from the cache)")

    other_html, _ = _dashboard(Client(), other)
    if page.shown(other_html).orders == page.shown(first_html).orders:
        pytest.fail(f"{other.name}'s dashboard shows the orders of {customer.name}: the cached "
                    "fragment needs a key of its own per customer (vary on customer.pk) "
                    "[hint 2]", pytrace=False)
    exact(other_html, other, "for a second customer", hint=2)

    # "Order again" pressed on the page the visitor got from the cache.
    press = page.order_again(cached_html, newest.pk)
    assert press is not None, (
        f"the dashboard has no \"Order again\" button for order #{newest.pk}: keep one per "
        "listed order, naming it (name=\"order_id\" value=\"{{ order.pk }}\")")
    placed = Order.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = visitor.post(press.action, press.data)
    if response.status_code == 403:
        pytest.fail(
            "\"Order again\" on a dashboard served from the cache was refused (403, CSRF): the "
            "cached fragment holds the CSRF token of the visitor who filled it; keep "
            "{% csrf_token %} (the order-again form) outside the fragment [hint 2]",
            pytrace=False)
    assert response.status_code == 302 and Order.objects.count() == placed + 1, (
        f"\"Order again\" answered {response.status_code} and placed "
        f"{Order.objects.count() - placed} orders: it should place one and redirect")
    exact(_dashboard(visitor, customer)[0], customer, "after \"Order again\"")

    def cancel() -> None:
        newest.status = "cancelled"
        newest.save()

    def more_units() -> None:
        line = newest.items.order_by("pk").first()
        line.quantity += 3
        line.save()

    def line_deleted() -> None:
        newest.items.order_by("pk").last().delete()

    def order_deleted() -> None:
        Order.objects.filter(customer=customer).order_by("-created_at").first().delete()

    for label, change in (("an order cancelled with save()", cancel),
                          ("a line's quantity changed with save()", more_units),
                          ("a line deleted", line_deleted),
                          ("an order deleted", order_deleted)):
        before = page.shown(_dashboard(visitor, customer)[0])  # cached before each change
        with django_capture_on_commit_callbacks(execute=True):  # as the change's commit would
            change()
        assert page.truth(customer, RECENT_ORDERS_ON_DASHBOARD) != before, (
            f"the grader's change ({label}) did not change the dashboard")
        exact(_dashboard(visitor, customer)[0], customer, f"after {label}")

    _dashboard(visitor, customer)
    saved = _order_saved_elsewhere(project, "shop.views.customer_dashboard",
                                   customer_id=customer.pk)
    _, again = _dashboard(visitor, customer)
    assert again > 0, (
        "after one of the customer's orders was saved by another process (a Celery worker, a "
        "shell, the admin on another app server), their dashboard still came from the cache"
        + ("" if saved["imported"] else ", because that process never imported the module "
           "that connects the receivers")
        + ": connect them when Django starts, in ShopConfig.ready() (shop/apps.py) [hint 3]")
