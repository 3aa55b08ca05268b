"""Chapter 14, the capstone: the trending page made fast. The graders give budgets (queries at
two data sizes, a query plan, a cached visit against the trivial view, what a browser may keep)
and read the page as a visitor reads it, against the grader's own sums, after every kind of
change that shows on it."""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
from declared_indexes import first_plan_line, migrations_match_models, used_index
from django.db.models import Avg, Max
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from course.measuring import plans
from course.measuring.measure import capturing, counted, is_counted
from course.measuring.visits import YEAR, fetch, freshness, subresources
from course.measuring.visits import url_path as static_path

pytestmark = pytest.mark.django_db

DAYS_BACK = 7  # the page's window: the last seven days of trading
TOP = 10  # best sellers shown
NEWEST = 8  # reviews shown
SIZES = (200, 600)  # orders of the tiny shop (30 products over 60 days)
QUERY_BOUND = 9  # the reference's page runs 7 with no cache at all
CANCELLED_UNITS = 500  # a cancelled order's line: it must not count


def _url() -> str:
    return reverse("shop:trending")


# Reading the page as a visitor does --------------------------------------------------------

ROW = re.compile(r'<tr class="best-seller">(.*?)</tr>', re.S)
DAY = re.compile(r'<tr class="day"[^>]*>(.*?)</tr>', re.S)
REVIEW = re.compile(r'<li class="review">(.*?)</li>', re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
HREF = re.compile(r'href="([^"]+)"')
WHEN = re.compile(r'<time datetime="([^"]+)"')
AUTHOR = re.compile(r'<span class="author">(.*?)</span>', re.S)
TAG = re.compile(r"<[^>]+>")


def _text(html: str) -> str:
    return " ".join(unescape(TAG.sub(" ", html)).split())


@dataclass
class Shown:
    best: list[tuple[str, str, str, str, str]]  # link, category, units, revenue, rating
    days: list[tuple[str, str]]  # the day (YYYY-MM-DD), units
    reviews: list[tuple[str, str]]  # the product's link, the author's name


def _shown(html: str) -> Shown:
    best = []
    for row in ROW.findall(html):
        cells = CELL.findall(row)
        assert len(cells) == 5, (
            f"a best seller's row has {len(cells)} cells, not the five of the page (product, "
            "category, units, revenue, rating): keep shop/trending.html's rows as they are")
        link = HREF.search(cells[0])
        best.append((link.group(1) if link else "", *(_text(cell) for cell in cells[1:])))
    days = []
    for row in DAY.findall(html):
        cells, when = CELL.findall(row), WHEN.search(row)
        assert when and len(cells) == 2, (
            "a row of the units per day has no <time datetime> or not two cells: keep "
            "shop/trending.html's rows as they are")
        days.append((when.group(1), _text(cells[1])))
    reviews = []
    for item in REVIEW.findall(html):
        link, author = HREF.search(item), AUTHOR.search(item)
        reviews.append((link.group(1) if link else "", _text(author.group(1)) if author else ""))
    assert best and days and reviews, (
        "the trending page shows no best seller, day or review (no tr.best-seller, tr.day or "
        "li.review): the grader reads the rows of shop/trending.html, keep them")
    return Shown(best, days, reviews)


def _visit(client: Any) -> str:
    response = client.get(_url())
    assert response.status_code == 200, f"{_url()} answered {response.status_code}"
    return response.content.decode()


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _expected() -> Shown:
    """What the page should show, summed here in Python from every line of the window."""
    from shop.models import Order, OrderItem, Review

    newest = Order.objects.aggregate(newest=Max("created_at"))["newest"]
    since = newest - timedelta(days=DAYS_BACK)
    units: Counter[int] = Counter()
    revenue: defaultdict[int, Decimal] = defaultdict(Decimal)
    per_day: Counter[str] = Counter()
    products = {}
    lines = (OrderItem.objects.filter(order__created_at__gte=since)
             .exclude(order__status="cancelled").select_related("order", "product__category"))
    for line in lines:
        products[line.product_id] = line.product
        units[line.product_id] += line.quantity
        revenue[line.product_id] += line.unit_price * line.quantity
        per_day[timezone.localtime(line.order.created_at).date().isoformat()] += line.quantity
    chosen = sorted(units, key=lambda pk: (-units[pk], products[pk].name, pk))[:TOP]
    ratings = dict(Review.objects.filter(product__in=chosen).values("product")
                   .annotate(mean=Avg("rating")).values_list("product", "mean"))
    best = []
    for pk in chosen:
        product = products[pk]
        mean = ratings.get(pk)
        best.append((product.get_absolute_url(), product.category.name, str(units[pk]),
                     _money(revenue[pk]), "–" if mean is None else str(round(float(mean), 1))))
    first = timezone.localtime(since).date()
    days = [((first + timedelta(days=n)).isoformat(), str(per_day[(first + timedelta(days=n))
                                                                     .isoformat()]))
            for n in range(DAYS_BACK + 1)]
    reviews = [(review.product.get_absolute_url(), review.customer.name) for review in
               Review.objects.select_related("product", "customer")
               .order_by("-created_at", "-pk")[:NEWEST]]
    return Shown(best, days, reviews)


def _compare(shown: Shown, expected: Shown, when: str, hint: int = 1,
             cancelled: str = "") -> None:
    """The page against the grader's sums: the best sellers, the days, the reviews.
    ``cancelled`` is the link of a product that leads only if a cancelled order counts."""
    links = [row[0] for row in shown.best]
    wanted = [row[0] for row in expected.best]
    if links != wanted:
        if cancelled and links[:1] == [cancelled]:
            pytest.fail(f"{when}, the page puts {cancelled} first, with the {CANCELLED_UNITS} "
                        f"units of a cancelled order: a cancelled order sold nothing "
                        f"[hint {hint}]", pytrace=False)
        if sorted(links) == sorted(wanted):
            pytest.fail(f"{when}, the page lists the right best sellers in another order: most "
                        f"units first, then by name [hint {hint}]", pytrace=False)
        pytest.fail(f"{when}, the page's best sellers are {links[:3]}…, expected "
                    f"{wanted[:3]}… (most units of the last {DAYS_BACK} days of trading, "
                    f"cancelled orders aside) [hint {hint}]", pytrace=False)
    names = ("category", "units", "revenue", "rating")
    for got, want in zip(shown.best, expected.best, strict=True):
        for name, value, right in zip(names, got[1:], want[1:], strict=True):
            assert value == right, (
                f"{when}, the page shows {value!r} as the {name} of {got[0]}, expected {right!r}"
                + (" (the money of its lines: quantity × the unit price it was sold at, to "
                   "the cent)" if name == "revenue" else "") + f" [hint {hint}]")
    assert shown.days == expected.days, (
        f"{when}, the units per day read {shown.days}, expected {expected.days} [hint {hint}]")
    assert shown.reviews == expected.reviews, (
        f"{when}, the newest reviews are {shown.reviews[:2]}…, expected "
        f"{expected.reviews[:2]}… (newest first, with their product and author) [hint {hint}]")


def _seed(shop: Any, orders: int, reviews: int) -> str:
    """The tiny shop with ``orders``, and two traps a sum can fall into: a cancelled order of
    the window whose big line would put a product that sold little at the top (its link is
    returned), and a best seller whose price changed since it sold."""
    from shop.models import Order, OrderItem

    shop("tiny", orders=orders, reviews=reviews)
    best = {row[0] for row in _expected().best}
    window = Order.objects.filter(created_at__gte=Order.objects.aggregate(
        newest=Max("created_at"))["newest"] - timedelta(days=DAYS_BACK))
    line = next(line for line in OrderItem.objects.filter(
        order__in=window.exclude(status="cancelled")).select_related("order", "product")
        .order_by("order__created_at", "pk") if line.product.get_absolute_url() not in best)
    line.order.status = "cancelled"
    line.order.save(update_fields=["status"])
    OrderItem.objects.filter(pk=line.pk).update(quantity=CANCELLED_UNITS)
    top = OrderItem.objects.filter(order__in=window.exclude(status="cancelled")).order_by(
        "-quantity", "pk").first().product
    top.price = top.price * 3 + 1
    top.save(update_fields=["price"])
    return line.product.get_absolute_url()


# 14.1 ---------------------------------------------------------------------------------------

def test_14_1_a_fixed_number_of_queries(client, shop, measured):
    counts = []
    for size in SIZES:
        cancelled = _seed(shop, size, size // 2)
        html, count, _ = counted(_visit, client)
        counts.append(count)
        _compare(_shown(html), _expected(), f"with {size} orders", hint=1, cancelled=cancelled)
    measured(f"{counts[0]} queries for {SIZES[0]} orders, {counts[1]} for {SIZES[1]}",
             target=f"the same, at most {QUERY_BOUND}")
    if counts[0] != counts[1]:
        pytest.fail(
            f"the trending page ran {counts[0]} queries with {SIZES[0]} orders and "
            f"{counts[1]} with {SIZES[1]}: its work grows with the orders of the week [hint 2]",
            pytrace=False)
    assert counts[1] <= QUERY_BOUND, (
        f"the trending page ran {counts[1]} queries at both sizes: the same, but more than "
        f"{QUERY_BOUND}. Something still asks once per best seller or per review [hint 2]")


# 14.2 ---------------------------------------------------------------------------------------

REVIEWS = 12_000  # two years of reviews, on disk in the order they were written
REVIEW_DAYS = 730


@pytest.fixture
def many_reviews(shop):
    from shop.models import Customer, Product, Review

    shop("tiny", orders=120, reviews=0)
    plans.fresh_table("shop_review")
    customers = list(Customer.objects.order_by("pk"))
    products = list(Product.objects.order_by("pk"))
    newest = timezone.now().replace(microsecond=0)
    step = timedelta(days=REVIEW_DAYS) / REVIEWS
    Review.objects.bulk_create(
        [Review(product=products[(n * 7) % len(products)], customer=customers[n % len(customers)],
                rating=1 + n % 5, body="Fine.", created_at=newest - step * (REVIEWS - 1 - n))
         for n in range(REVIEWS)], batch_size=2_000)
    plans.analyze()


def _newest_reviews_statement(client: Any):
    """The statement of the page that reads the newest reviews: from shop_review, in an
    order, a few rows."""
    with capturing() as captured:
        _visit(client)
    found = [c for c in captured if not c.many and is_counted(c.sql)
             and re.search(r'FROM "?shop_review"?', c.sql) and "ORDER BY" in c.sql
             and "LIMIT" in c.sql]
    if not found:
        pytest.fail("no query of the trending page reads the newest reviews from shop_review "
                    "in an order, a few rows at a time (ORDER BY … LIMIT): ask the database "
                    "for the eight newest, not for every review [hint 1]", pytrace=False)
    return found[0]


def test_14_2_newest_reviews_from_an_index(client, many_reviews, measured):
    from shop.models import Review

    migrations_match_models(hint=3)
    plan = plans.explain(_newest_reviews_statement(client))
    measured(first_plan_line(plan), target="an index on the reviews' created_at, no sort",
             unit="")
    used_index(Review, plan, lambda d: d.columns[:1] == ["created_at"],
               f"the newest of {REVIEWS:,} reviews are found by reading them all and sorting "
               "them", hint=2)
    assert not plans.sorts(plan), (
        f"the database still sorts the reviews itself to find the newest:\n{plan} [hint 2]")
    _compare(_shown(_visit(client)), _expected(), "with an index", hint=2)


# 14.3 ---------------------------------------------------------------------------------------

VISITS = 15  # timed visits of each kind, interleaved
# A cached visit against the trivial view, wall clock: what a visitor waits, and the only
# bound that sees a visit wait on something. A busy machine stretches it either way (the
# reference: 2.3-2.8 quiet, 5.3 once beside the suite's other parts), so the CPU bound below
# is the tight one.
RATIO_BOUND = 8.0
FRAME_BOUND = 2.0  # its CPU against the shop's empty frame's (the reference: about 1.3)


def _costs(client: Any, url: str) -> tuple[float, float]:
    """What one visit to ``url`` takes: wall-clock ms, and ms of this thread's CPU. The test
    client serves the request in this thread, so the CPU time is the work the request did,
    whatever else a busy machine runs meanwhile."""
    wall, cpu = time.perf_counter(), time.thread_time()
    response = client.get(url)
    costs = (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return costs


def _ms(client: Any, url: str) -> float:
    return _costs(client, url)[0]


@dataclass(frozen=True)
class Timing:
    """Medians (ms) of a cached visit, of the trivial view and of the shop's empty frame."""

    page_ms: float
    floor_ms: float
    page_cpu: float
    frame_cpu: float


def _timed(client: Any) -> Timing:
    """Visits to the page, to the trivial view and to the frame (``base.html`` with nothing
    in it, through the project's own context processors), in turns. One URLconf holds them
    all (changing ROOT_URLCONF between visits would make Django build it again)."""
    page, floor, frame = [], [], []
    with override_settings(ROOT_URLCONF="timed_urls"):
        for _ in range(VISITS):
            page.append(_costs(client, _url()))
            floor.append(_costs(client, "/course-ok/"))
            frame.append(_costs(client, "/course-frame/"))
    return Timing(page_ms=statistics.median(wall for wall, _ in page),
                  floor_ms=statistics.median(wall for wall, _ in floor),
                  page_cpu=statistics.median(cpu for _, cpu in page),
                  frame_cpu=statistics.median(cpu for _, cpu in frame))


@pytest.mark.real_cache
def test_14_3_cached_and_fresh(client, shop, redis_db, measured,
                               django_capture_on_commit_callbacks):
    from shop.models import Customer, Order, OrderItem, Product, Review
    from shop.services import place_order

    _seed(shop, 300, 150)
    _compare(_shown(_visit(client)), _expected(), "on a first visit")
    html, count, statements = counted(_visit, client)
    assert count == 0, (
        f"a second visit to the trending page ran {count} queries: the page is worked out "
        f"again for every visitor, though it changes only with the orders and reviews "
        f"[hint 1]\n  " + "\n  ".join(statements[:3]))
    timing = _timed(client)
    ratio, frames = timing.page_ms / timing.floor_ms, timing.page_cpu / timing.frame_cpu
    measured(f"{timing.page_ms:.1f} ms, {ratio:.1f}× the trivial view's "
             f"{timing.floor_ms:.1f} ms", target=f"at most {RATIO_BOUND:.0f}×", unit="(medians)")
    measured(f"{timing.page_cpu:.2f} ms of CPU, {frames:.1f}× the empty frame's "
             f"{timing.frame_cpu:.2f} ms", target=f"at most {FRAME_BOUND:.0f}×", unit="(medians)")
    assert ratio <= RATIO_BOUND, (
        f"a cached visit takes {timing.page_ms:.1f} ms, {ratio:.1f}× the "
        f"{timing.floor_ms:.1f} ms of a view that only answers 'ok' (medians of {VISITS}): at "
        f"most {RATIO_BOUND:.0f}× expected. What is left to do on a visit besides reading the "
        "cache? [hint 2]")
    # Wall clock on a busy machine moves with whatever else runs: CPU time does not.
    assert frames <= FRAME_BOUND, (
        f"a cached visit works {timing.page_cpu:.2f} ms of CPU, {frames:.1f}× what the "
        f"shop's frame alone costs (base.html with nothing in it: {timing.frame_cpu:.2f} ms; "
        f"medians of {VISITS}): at most {FRAME_BOUND:.0f}× expected. What is left to do on a "
        "visit besides reading the cache? [hint 2]")

    # A line added to an order of the week (the admin does that): its product leads.
    order = Order.objects.exclude(status="cancelled").order_by("-created_at").first()
    shown_now = {row[0] for row in _shown(html).best}
    outsider = next(p for p in Product.objects.order_by("pk")
                    if p.get_absolute_url() not in shown_now)
    with django_capture_on_commit_callbacks(execute=True):
        OrderItem.objects.create(order=order, product=outsider, quantity=400,
                                 unit_price=outsider.price)
    _compare(_shown(_visit(client)), _expected(), "after a line of 400 units was added to an "
             "order of the week", hint=2)
    # A review written now: it is the newest.
    with django_capture_on_commit_callbacks(execute=True):
        Review.objects.create(product=outsider, customer=Customer.objects.order_by("pk")[0],
                              rating=5, body="Just arrived.", created_at=timezone.now())
    _compare(_shown(_visit(client)), _expected(), "after a review was written", hint=2)
    # An order placed through the shop's service (lines saved in bulk: no signal of theirs).
    with django_capture_on_commit_callbacks(execute=True):
        place_order(customer=Customer.objects.order_by("-pk")[0], lines=[(outsider.pk, 7)])
    _compare(_shown(_visit(client)), _expected(), "after an order was placed at the checkout",
             hint=2)


# 14.4 ---------------------------------------------------------------------------------------

HASHED = re.compile(r"\.[0-9a-f]{12}\.[^./]+$")
CHART_SCRIPT = re.compile(r"/shop/js/trending(\.[0-9a-f]{12})?\.js$")
BROTLI_SHARE = 0.40


class _Scripts(HTMLParser):
    """Each ``<script src>`` of a page, with whether it waits for the page (defer, async or a
    module) or stops it while it loads and runs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs}
        if tag == "script" and values.get("src"):
            waits = ("defer" in values or "async" in values
                     or (values.get("type") or "").lower() == "module")
            self.found.append((values["src"] or "", waits))


def test_14_4_script_kept_compressed_not_blocking(project, measured):
    with project.serve() as base:
        page = fetch(base + _url())
        assert page.status == 200, f"GET {_url()} under gunicorn answered {page.status}"
        parser = _Scripts()
        parser.feed(page.decoded().decode("utf-8", "replace"))
        chart = [src for src, _ in parser.found if CHART_SCRIPT.search(src.split("?")[0])]
        assert chart, (
            f"the trending page loads no shop/js/trending.js (scripts: "
            f"{[src for src, _ in parser.found]}): the units per day are drawn by it [hint 1]")
        blocking = [src for src, waits in parser.found if not waits]
        assert not blocking, (
            f"{', '.join(blocking)} stops the page: the browser waits for it to load and run "
            "before it shows the rest of the page (no defer or async) [hint 2]")
        sent = raw = 0
        for kind, url in subresources(page):
            if kind not in ("script", "stylesheet"):
                continue
            path = static_path(url)
            plain = fetch(url)
            assert plain.status == 200, f"{path} answered {plain.status}"
            lifetime = freshness(plain)
            assert HASHED.search(path.split("?")[0]) and lifetime >= YEAR and (
                "immutable" in plain.directives()), (
                f"{path} may be kept {lifetime:.0f} s, under a name that does not change "
                "when the file does: a returning visitor asks for it again, or keeps an old "
                "copy after a deploy [hint 2]")
            packed = fetch(url, {"Accept-Encoding": "br"})
            assert packed.header("Content-Encoding").lower() == "br", (
                f"{path} asked for with Accept-Encoding: br comes back "
                f"{packed.header('Content-Encoding') or 'uncompressed'} [hint 3]")
            sent, raw = sent + len(packed.body), raw + len(plain.body)
    share = sent / raw
    measured(f"{sent:,} of {raw:,} bytes ({share:.0%}), every file kept a year",
             target=f"≤ {BROTLI_SHARE:.0%}", unit="with brotli")
    assert share <= BROTLI_SHARE, (
        f"the page's scripts and stylesheets weigh {sent:,} bytes with brotli, {share:.0%} of "
        f"{raw:,} [hint 3]")


# 14.5 ---------------------------------------------------------------------------------------

SLOW_COLLECTOR_MS = 1000  # the collector's answer, when slow
EXTRA_BOUND_MS = 100  # what a slow collector may add to a visit (medians)
TIMED_VISITS = 5  # of each kind, in turns
QUEUED_VISITS = 3
DELIVERY_TIMEOUT = 20.0  # seconds for a worker to deliver what is queued
RECOVERY_TIMEOUT = 12.0  # seconds for the event held by a hung collector to arrive after it


def _delivered(collector: Any, count: int, timeout: float) -> list[dict]:
    from background import _wait

    _wait(lambda: collector.stats()["events"] >= count, timeout, interval=0.1)
    return collector.events()


@pytest.mark.real_cache
@pytest.mark.django_db(transaction=True)
def test_14_5_no_waiting_for_the_collector(client, shop, redis_db, broker, workers, settings,
                                           tmp_path, measured):
    from background import _wait, queued

    from course.services import quotes
    from course.services.celery_process import WorkerError

    shop("tiny")
    with quotes.PrivateServer(tmp_path / "collector").start(delay_ms=0) as collector:
        settings.ANALYTICS_URL = collector.url
        _ms(client, _url())  # the first visit fills the cache (14.3), if there is one

        # 1. What a slow collector adds to a visit: nothing, or next to nothing.
        times: dict[int, list[float]] = {0: [], SLOW_COLLECTOR_MS: []}
        for _ in range(TIMED_VISITS):
            for delay in times:
                collector.behave(delay_ms=delay)
                times[delay].append(_ms(client, _url()))
        fast, slow = (statistics.median(times[delay]) for delay in times)
        assert slow - fast <= EXTRA_BOUND_MS, (
            f"a visit takes {slow:.0f} ms when the analytics collector takes "
            f"{SLOW_COLLECTOR_MS / 1000:.0f} s to answer, {fast:.0f} ms when it answers at once "
            f"(medians of {TIMED_VISITS}): the visitor waits for the collector [hint 1]")

        # 2. With no worker running, each visit leaves one message on the broker, and the
        #    collector hears of none: the request itself does not talk to it.
        broker.flushdb()
        collector.events(reset=True)
        collector.behave(delay_ms=0)
        paths = [f"{_url()}?visit={n}" for n in range(1, QUEUED_VISITS + 1)]
        for path in paths:
            _ms(client, path)
        time.sleep(0.5)
        early = collector.events()
        assert not early, (
            f"{len(early)} of {QUEUED_VISITS} visits' events reached the collector with no "
            "worker running: the web process still posts them itself (in the request, or in a "
            "thread of its own that a restart or a slow collector loses) [hint 2]")
        waiting = queued(broker)
        assert len(waiting) == QUEUED_VISITS, (
            f"{QUEUED_VISITS} visits (the first one computed, the others from the cache if it "
            f"is kept) left {len(waiting)} task messages on the broker: every visit's event "
            "must wait there for a worker [hint 2]")

        # 3. A worker delivers each event, once.
        try:
            workers.start_with({**workers.env(), "ANALYTICS_URL": collector.url})
        except WorkerError as error:
            pytest.fail(f"{error}. This grader runs a real Celery worker with the shop's Celery "
                        "app, which chapter 06 set up (config/celery.py)", pytrace=False)
        events = _delivered(collector, QUEUED_VISITS, DELIVERY_TIMEOUT)
        seen = sorted(str(event.get("path")) for event in events)
        assert seen == paths, (
            f"the worker delivered {len(events)} events within {DELIVERY_TIMEOUT:.0f} s, for "
            f"{seen}: one event per visit expected, for {paths}, as the starter sent them "
            "[hint 3]")

        # 4. A collector that hangs on the first try, then answers: the event still arrives.
        before = collector.stats()["received"]
        collector.behave(mode="hang")
        _ms(client, f"{_url()}?visit=hung")
        tried = _wait(lambda: collector.stats()["received"] > before, DELIVERY_TIMEOUT, 0.1)
        assert tried, "the worker never tried to deliver the event of a visit [hint 3]"
        collector.behave(mode="answer", delay_ms=0)
        events = _delivered(collector, QUEUED_VISITS + 1, RECOVERY_TIMEOUT)
        assert any(event.get("path") == f"{_url()}?visit=hung" for event in events), (
            f"the collector hung on the worker's first try and answered at once after that, "
            f"but the event never arrived within {RECOVERY_TIMEOUT:.0f} s: the task must give "
            "up on a request that does not answer (a timeout of a few seconds) and try again "
            "later (a retry) [hint 3]")
    measured(f"{slow:.0f} ms with a collector that takes {SLOW_COLLECTOR_MS / 1000:.0f} s, "
             f"{fast:.0f} ms with one that answers at once; {len(events)} of "
             f"{QUEUED_VISITS + 1} events delivered by a worker",
             target=f"at most {EXTRA_BOUND_MS} ms more", unit="(medians)")
