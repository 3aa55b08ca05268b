"""Chapter 04 — Pagination and large result sets, including the admin: graders.

Pages are requested for real, at two table sizes: what a page costs (queries,
bytes) must not grow with the table, and walking every page must show every
row exactly once, in order.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from course.measuring.measure import counted

pytestmark = pytest.mark.django_db

ORDER_ROW = re.compile(r"<td>#(\d+)</td>")


def _make_orders(count: int, *, same_time: int = 1) -> list[int]:
    """Replace every order by ``count`` recent ones, one line each, ``same_time`` orders
    sharing each timestamp; their ids, newest first (the order every list uses).

    The rows are created in a shuffled order: ids say nothing about which order is newer,
    so a list ordered by id (or not ordered at all) does not look newest first by luck."""
    import random

    from shop.models import Customer, Order, OrderItem, Product

    Order.objects.all().delete()
    customers = list(Customer.objects.order_by("pk"))
    products = list(Product.objects.order_by("pk"))
    newest = timezone.now().replace(microsecond=0)
    ranks = list(range(count))
    random.Random(count).shuffle(ranks)
    orders = Order.objects.bulk_create(
        Order(customer=customers[n % len(customers)], status=("paid", "shipped", "pending")[n % 3],
              created_at=newest - timedelta(minutes=rank // same_time))
        for n, rank in enumerate(ranks)
    )
    OrderItem.objects.bulk_create(
        OrderItem(order=order, product=products[n % len(products)], quantity=1 + n % 3,
                  unit_price=Decimal("4.20") + n % 7)
        for n, order in enumerate(orders)
    )
    return list(Order.objects.order_by("-created_at", "-pk").values_list("pk", flat=True))


def _reads_orders(sql: str) -> bool:
    """A statement that loads order rows (not a COUNT of them)."""
    return 'FROM "shop_order"' in sql and not re.match(r"\s*SELECT\s+COUNT\(", sql, re.I)


def _page_query(statements: list[str], what: str, total: int, advice: str) -> str:
    """The statement that loads the page's orders: it must stop after the page (LIMIT) and
    order the rows by a unique column last, or orders placed at the same moment can swap
    places between two requests (and appear on two pages, or on none)."""
    loads = [sql for sql in statements if _reads_orders(sql)]
    unbounded = [sql for sql in loads if not re.search(r"\bLIMIT\b", sql, re.I)]
    assert not unbounded, (
        f"{what} loads all {total:,} orders from the database to show a page of them: the "
        f"query that reads them has no LIMIT ({unbounded[0][:70]}…); {advice}"
    )
    assert loads, f"{what} reads no orders"
    page = max(loads, key=len)  # the page's rows, with their joins (not recent_since's)
    order_by = re.search(r"\bORDER BY\b(.*?)(?:\bLIMIT\b|$)", page, re.I | re.S)
    last = order_by.group(1).split(",")[-1] if order_by else ""
    assert '"shop_order"."id"' in last, (
        f"{what} orders the rows by {order_by.group(1).strip() if order_by else 'nothing'}: orders "
        "placed at the same moment have no fixed order, so the database may return them in "
        "a different order for the next page, and one order shows twice while another never "
        "does. End the ordering with the primary key, e.g. (\"-created_at\", \"-pk\") [hint 3]"
    )
    return page


def _local(url: str) -> str:
    """A `next` link, absolute or not, as a path the test client can request."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


# --------------------------------------------------------------------------- 04.1


def _walk_pages(client, url: str, limit: int) -> list[list[int]]:
    """Order ids of ?page=1, 2, … until a page is refused or shows nothing new."""
    pages: list[list[int]] = []
    seen: set[int] = set()
    for number in range(1, limit + 1):
        response = _refuses_cleanly(
            client, f"{url}?page={number}",
            "every page number, one past the last page included, must give a page or a "
            "404, never a server error: Paginator.get_page() gives the last page [hint 2]",
        )
        if response.status_code == 404:
            break
        assert response.status_code == 200, f"?page={number} answered {response.status_code}"
        ids = [int(pk) for pk in ORDER_ROW.findall(response.content.decode())]
        if not ids or set(ids) <= seen:
            break
        pages.append(ids)
        seen.update(ids)
    return pages


def _refuses_cleanly(client, url: str, what: str):
    """A number or cursor nobody could have been given answers a page or a clean 4xx."""
    client.raise_request_exception = False
    try:
        response = client.get(url)
    finally:
        client.raise_request_exception = True
    assert response.status_code < 500, (
        f"{url} answered {response.status_code}: {what}"
    )
    return response


LIST_QUERIES = 15  # the page, its items, the counts and the menu: a few, never one per row


def test_04_1_order_list_pages(client, shop, measured):
    shop("tiny", orders=0, reviews=0)
    url = reverse("shop:order_list")
    sizes, counts, lengths = (120, 1_200), [], []
    for size in sizes:
        newest_first = _make_orders(size, same_time=3)  # ties straddle page boundaries
        response, count, statements = counted(client.get, url)
        assert response.status_code == 200, f"the order list answered {response.status_code}"
        html = response.content.decode()
        shown = [int(pk) for pk in ORDER_ROW.findall(html)]
        assert shown, "the order list shows no orders"
        assert len(shown) < size, (
            f"the order list shows all {size} orders on one page: paginate it (?page=N)"
        )
        assert shown == newest_first[: len(shown)], (
            "page 1 must show the newest orders, newest first: order by created_at, newest "
            "first, then by id for orders placed at the same moment [hint 3]"
        )
        _page_query(statements, "page 1", size,
                    "give the Paginator the queryset, not a list, and it asks for one page")
        counts.append(count)
        lengths.append(len(response.content))
    measured(f"{sizes[0]:,} orders: {counts[0]} queries, {lengths[0] // 1024} KiB; "
             f"{sizes[1]:,} orders: {counts[1]} queries, {lengths[1] // 1024} KiB",
             target="the same for both")
    assert counts[0] == counts[1], (
        f"page 1 ran {counts[0]} queries with {sizes[0]} orders and {counts[1]} with {sizes[1]}"
    )
    assert counts[1] <= LIST_QUERIES, (
        f"page 1 ran {counts[1]} queries for {len(shown)} orders (at most {LIST_QUERIES}): each "
        "order loads its customer or its items on its own; keep the select_related and "
        "prefetch_related of chapter 02 on the paginated queryset [hint 2]"
    )
    assert lengths[1] < 1.25 * lengths[0], (
        f"page 1 grew from {lengths[0]:,} to {lengths[1]:,} bytes with the table"
    )
    pages = _walk_pages(client, url, limit=sizes[1])
    walked = [pk for page in pages for pk in page]
    assert len(walked) == len(set(walked)), "some orders appear on two pages"
    assert walked == newest_first, (
        f"walking ?page=1 to {len(pages)} shows {len(set(walked))} of {sizes[1]} orders, or "
        "not newest first"
    )
    for page in ("abc", "0", "-1", "99999", "2.5"):
        _refuses_cleanly(
            client, f"{url}?page={page}",
            "a page number that is not one (typed by hand, or an old link) must give a page "
            "or a 404, never a server error: Paginator.get_page() gives the first or last page "
            "[hint 2]",
        )


# --------------------------------------------------------------------------- 04.2


PAGE_QUERIES = 6  # the pending-orders count, the page, its items: a few, never one per row
PAGE_SIZE_PARAMETERS = ("page_size", "per_page", "limit", "size")
MOST_ROWS_PER_PAGE = 1_000


def _follow_next(client, url: str | None, limit: int, what: str, hint: int):
    """Follow `next` from ``url`` until it is null (at most ``limit`` pages): each page's
    number, JSON, query count and SQL. No page may skip rows with OFFSET."""
    number = 0
    while url and number <= limit:
        number += 1
        response, count, statements = counted(client.get, url)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        data = json.loads(response.content)
        offsets = [sql for sql in statements if re.search(r"\bOFFSET\b", sql, re.IGNORECASE)]
        assert not offsets, (
            f"page {number} of {what} skips rows with OFFSET, which reads and throws away every "
            f"earlier row (…{offsets[0][-60:]}) [hint {hint}]"
        )
        yield number, data, count, statements
        url = _local(data["next"]) if data.get("next") else None


def _walk_api(client, url: str | None, limit: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Follow `next` from ``url`` until it is null: the ids sent, and (queries, rows) per page.

    Every page is checked on the way: no OFFSET, no COUNT of the orders, a LIMIT, a unique
    column last in the order, a bounded number of queries."""
    from shop.models import Order

    _, _, pending_count = counted(Order.objects.filter(status="pending").count)  # middleware
    walked: list[int] = []
    pages: list[tuple[int, int]] = []
    for number, data, count, statements in _follow_next(client, url, limit, "the orders API",
                                                        hint=2):
        assert "results" in data and "next" in data, (
            f"page {number} of the orders API answered without `results` and `next` (null on "
            "the last page) [hint 1]"
        )
        results = data["results"]
        what = f"page {number} of the orders API"
        totals = [sql for sql in statements if sql not in pending_count
                  and re.match(r"\s*SELECT\s+COUNT\(", sql, re.I) and '"shop_order"' in sql]
        assert not totals, (
            f"{what} counts the orders ({totals[0][:120]}): a COUNT reads every row it counts, "
            "on every page, so page 500 costs the whole table; `next` (null on the last page) "
            "already tells a client whether there is more [hint 1]"
        )
        _page_query(statements, what, limit,
                    "slice the queryset ([:size + 1]) so the database sends one page [hint 2]")
        assert count <= PAGE_QUERIES, (
            f"{what} ran {count} queries for {len(results)} orders (at most {PAGE_QUERIES}): "
            "each order loads its customer and its items on its own (select_related, "
            "prefetch_related)"
        )
        pages.append((count, len(results)))
        walked.extend(row["id"] for row in results)
    return walked, pages


def _cursor_parameters(first: str, second: str) -> list[str]:
    """The query parameters a `next` link adds or changes: the cursor."""
    before, after = parse_qs(urlsplit(first).query), parse_qs(urlsplit(second).query)
    return [name for name, value in after.items() if before.get(name) != value]


def test_04_2_api_keyset_pagination(client, shop, measured):
    from shop.models import Customer, Order

    shop("tiny", orders=0, reviews=0)
    newest_first = _make_orders(1_050, same_time=7)  # ties straddle page boundaries
    total = len(newest_first)
    url = reverse("api:order_list")
    first = json.loads(client.get(url).content)
    assert len(first.get("results", [])) < total, (
        f"the API sends all {total:,} orders in one response: send a page and a `next` "
        "link [hint 1]"
    )
    walked, pages = _walk_api(client, url, total)
    repeated = sorted({pk for pk in walked if walked.count(pk) > 1})
    assert not repeated, (
        f"orders sent twice: {repeated[:10]}: orders sharing a created_at time straddle the "
        "end of a page, and the cursor must say which of them were sent (its pk) [hint 3]"
    )
    missing = set(newest_first) - set(walked)
    assert not missing, (
        f"{len(missing)} of {total:,} orders never sent, e.g. {sorted(missing)[:5]} "
        "(orders with equal created_at times need a tie-breaker in the cursor) [hint 3]"
    )
    assert walked == newest_first, (
        "the pages are not newest first (by created_at, then by id when two orders share a "
        "time); ids do not follow creation times [hint 2]"
    )
    counts = sorted({count for count, _ in pages})
    measured(f"{len(pages)} pages, {counts[0]}–{counts[-1]} queries each",
             target="every order once; the same queries on every page; no OFFSET")
    assert len(counts) == 1, (
        f"pages ran between {counts[0]} and {counts[-1]} queries: the cost depends on the page"
    )
    size = pages[0][1]

    # The cursor comes from clients: one that is not ours is refused cleanly.
    page_two = _local(first["next"])
    for name in _cursor_parameters(url, page_two):
        for junk in ("not-a-cursor", "MjAyNi0xMy00NXx4", "%00", "x" * 300):
            query = parse_qs(urlsplit(page_two).query)
            query[name] = [junk]
            response = _refuses_cleanly(
                client, f"{url}?{urlencode(query, doseq=True)}",
                "a cursor the API cannot read (cut short, edited by hand) must be refused with "
                "400, not crash the view [hint 3]",
            )
            assert response.status_code in (400, 404), (
                f"{url}?{name}={junk[:20]} answered {response.status_code}: a cursor the API "
                "did not make must be refused (400), not read as the first page [hint 3]"
            )

    # A client cannot ask for the whole table in one page.
    for name in PAGE_SIZE_PARAMETERS:
        response = _refuses_cleanly(client, f"{url}?{name}=100000",
                                    "a page size the client asks for must be capped")
        if response.status_code == 200:
            sent = len(json.loads(response.content).get("results", []))
            assert sent <= MOST_ROWS_PER_PAGE, (
                f"asked for ?{name}=100000, the API sent {sent:,} orders in one page: cap the "
                f"page size a client may ask for (at most {MOST_ROWS_PER_PAGE:,})"
            )

    # The filter survives the pages: `next` keeps ?customer=.
    customer = Customer.objects.order_by("pk").first()
    Order.objects.filter(pk__in=newest_first[::2]).update(customer=customer)
    mine = set(Order.objects.filter(customer=customer).values_list("pk", flat=True))
    theirs = [pk for pk in newest_first if pk in mine]
    sent, _ = _walk_api(client, f"{url}?{urlencode({'customer': customer.email})}", total)
    strangers = sorted(set(sent) - set(theirs))
    assert not strangers, (
        f"?customer={customer.email} sent {len(strangers)} orders of other customers, e.g. "
        f"{strangers[:5]}: the `next` link must keep the query's other parameters"
    )
    assert sent == theirs, (
        f"?customer={customer.email} sent {len(set(sent))} of the customer's {len(theirs)} "
        "orders, or not newest first"
    )

    # On the last page `next` is null, even when the last page is full.
    keep = newest_first[: 2 * size] if 2 * size <= total else newest_first[:size]
    Order.objects.exclude(pk__in=keep).delete()
    sent, last_walk = _walk_api(client, url, total)
    assert sent == keep, (
        f"with {len(keep)} orders ({len(keep) // size} full pages) the API sent "
        f"{len(set(sent))} of them"
    )
    assert all(rows for _, rows in last_walk), (
        f"with {len(keep)} orders, {len(keep) // size} full pages of {size}, the last page's "
        "`next` leads to an empty page: ask for one row more than the page to know whether "
        "there is a next one [hint 2]"
    )


# --------------------------------------------------------------------------- 04.3 / 04.4


def _log_in_admin(client) -> None:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    admin_user = users.filter(username="course-grader").first() or users.create_superuser(
        "course-grader", "grader@example.com", None)
    client.force_login(admin_user)


def _row_of(html: str, pk: int) -> str:
    marker = f"/admin/shop/order/{pk}/change/"
    for row in html.split("<tr")[1:]:
        if marker in row:
            return row
    return ""


def test_04_3_admin_changelist(client, shop, measured):
    from django.db.models import Count
    from shop.models import Order

    url = reverse("admin:shop_order_changelist")
    sizes, counts = (20, 80), []
    for size in sizes:
        shop("tiny", orders=size, reviews=0)
        _log_in_admin(client)
        response, count, _ = counted(client.get, url)
        assert response.status_code == 200, f"the order change list answered {response.status_code}"
        html = response.content.decode()
        lines = dict(Order.objects.annotate(n=Count("items")).values_list("pk", "n"))
        shown = [pk for pk in lines if _row_of(html, pk)]
        assert shown, "the change list shows no orders"
        for pk in shown:
            assert f'<td class="field-items_in_order">{lines[pk]}</td>' in _row_of(html, pk), (
                f"order #{pk} should show {lines[pk]} in its items column"
            )
        counts.append((len(shown), count))
    (few_rows, few), (many_rows, many) = counts
    measured(f"{few} queries for {few_rows} rows, {many} for {many_rows}", target="the same count")
    assert few == many, (
        f"the change list ran {few} queries for {few_rows} rows and {many} for {many_rows}: "
        "a query per row, each order asked for its items on its own [hint 2]"
    )
    response, _, statements = counted(client.get, f"{url}?status__exact=paid")
    assert response.status_code == 200
    full_counts = [sql for sql in statements
                   if re.search(r"COUNT\(", sql, re.IGNORECASE) and "shop_order" in sql
                   and not re.search(r"\bWHERE\b", sql, re.IGNORECASE)]
    assert not full_counts, (
        "filtered by status, the change list still counts every order in the table "
        f"({full_counts[0][:80]}), to show \"N of M\" next to the filter: a full scan of a "
        "big table on every filtered page [hint 2]"
    )


def test_04_4_admin_change_form(client, shop, measured):
    from shop.models import Customer, Order, OrderItem, Product

    sizes, results = ((20, 30), (400, 600)), []
    for customers, products in sizes:
        shop("tiny", customers=customers, products=products, orders=4, reviews=0)
        _log_in_admin(client)
        order = Order.objects.order_by("pk").first()
        order.items.all().delete()
        chosen = list(Product.objects.order_by("-pk")[:3])
        OrderItem.objects.bulk_create(
            OrderItem(order=order, product=product, quantity=1, unit_price=product.price)
            for product in chosen
        )
        url = reverse("admin:shop_order_change", args=[order.pk])
        client.get(url)  # warm Django's caches (content types) so both sizes compare alike
        response, count, _ = counted(client.get, url)
        assert response.status_code == 200, f"the order's change form answered {response.status_code}"
        html = response.content.decode()
        assert escape(str(order.customer)) in html, (
            "the change form no longer shows the order's customer"
        )
        for product in chosen:
            assert escape(str(product)) in html, (
                f"the change form no longer shows the line for {product}"
            )
        assert 'name="customer"' in html, (
            "the change form no longer lets staff change the order's customer (a read-only "
            "field is no answer): keep the field, searched on demand [hint 2]"
        )
        editable = [n for n in range(len(chosen)) if f'name="items-{n}-product"' in html]
        assert len(editable) == len(chosen), (
            "the change form no longer lets staff change the product of an item line (a "
            "read-only field is no answer): keep the field, searched on demand [hint 2]"
        )
        results.append((Customer.objects.count(), Product.objects.count(), count,
                        len(response.content)))
    (c1, p1, q1, b1), (c2, p2, q2, b2) = results
    measured(f"{c1} customers, {p1} products: {q1} queries, {b1 // 1024} KiB; {c2} and {p2}: "
             f"{q2} queries, {b2 // 1024} KiB", target="the same for both")
    assert q1 == q2, f"the change form ran {q1} queries, then {q2} with more rows in the tables"
    assert b2 < 1.3 * b1, (
        f"the change form grew from {b1:,} to {b2:,} bytes with {c2} customers and {p2} "
        f"products: it lists every one of them in <select> menus ({_menus(html)}) [hint 2]"
    )


def _menus(html: str) -> str:
    """What the long <select>s of a change form offer, in words."""
    def options(name: str) -> int:
        found = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
        return found.group(1).count("<option") if found else 0

    said = []
    if options("customer") > 1:
        said.append(f"the customer menu offers {options('customer')} choices")
    if options("items-0-product") > 1:
        said.append(f"each item line's product menu offers {options('items-0-product')} choices")
    return "; ".join(said) or "see the page's HTML"


# --------------------------------------------------------------------------- 04.5

CATALOGUE_QUERIES = 3  # products with categories, their tags, the open-orders count (middleware)


def _catalogue(count: int) -> list[int]:
    """``count`` products in two categories, many sharing a name, created in an order that is
    neither name nor id order; returns their ids in (name, id) order."""
    from shop.models import Category, Product

    sport = Category.objects.create(name="Sport", slug="sport-graded")
    home = Category.objects.create(name="Home", slug="home-graded")
    names = ["Lamp", "Tent", "Kettle", "Mat", "Bottle"]
    made = Product.objects.bulk_create(
        Product(category=sport if n % 3 else home, name=names[(n * 7) % 5] + ("" if n % 4
                else f" {n}"), slug=f"graded-{n}", description="x" * 500,
                price=Decimal("1.50") + n, stock=n % 9, is_active=n % 11 != 0)
        for n in reversed(range(count)))
    return [p.pk for p in sorted(made, key=lambda p: (p.name, p.pk))]


def _walk(client, url: str, limit: int = 400) -> tuple[list[dict], list[tuple[int, int]]]:
    rows: list[dict] = []
    pages: list[tuple[int, int]] = []
    for _, data, count, _ in _follow_next(client, url, limit, "the catalogue", hint=1):
        pages.append((count, len(data["results"])))
        rows.extend(data["results"])
    return rows, pages


def test_04_5_catalogue_api_pages(client, shop, measured):
    from shop.models import Product

    shop("tiny", products=0, orders=0, reviews=0)
    expected = _catalogue(130)
    url = reverse("api:product_list")
    first = json.loads(client.get(url).content)
    assert len(first["results"]) < len(expected), (
        f"the catalogue API sends all {len(first['results'])} products in one response: send "
        "a page and a `next` link")
    for query, label in (("", "by default"), ("?page_size=7", "7 at a time")):
        rows, pages = _walk(client, url + query)
        walked = [row["id"] for row in rows]
        repeated = sorted({pk for pk in walked if walked.count(pk) > 1})
        assert not repeated, (
            f"walking the pages {label}, products were sent twice: {repeated[:8]} (products "
            "that share a name need the id in the cursor) [hint 2]")
        missing = set(expected) - set(walked)
        assert not missing, (
            f"walking the pages {label}, {len(missing)} of {len(expected)} products were never "
            "sent (products that share a name need the id in the cursor) [hint 2]")
        assert walked == expected, f"walking the pages {label}: not in name order (then id)"
        if query:
            sizes = [size for _, size in pages]
            assert sizes[0] == 7, (
                f"?page_size=7 gave a first page of {sizes[0]} products: honour page_size "
                "(up to 100) [hint 3]")
            assert set(sizes[:-1]) == {7}, (
                f"?page_size=7 gave pages of {sorted(set(sizes))} products: the first page "
                "honours it, later ones do not, so keep the other query parameters in the "
                "`next` URL [hint 2]")
        counts = sorted({count for count, _ in pages})
        assert len(counts) == 1 and counts[0] <= CATALOGUE_QUERIES, (
            f"walking the pages {label}, pages ran {counts[0]}–{counts[-1]} queries (the same "
            f"on every page, at most {CATALOGUE_QUERIES}): categories and tags in a fixed number "
            "of queries, whatever the page")
    measured(f"{len(pages)} pages of 7, {counts[0]} queries each",
             target=f"every product once, in name order; at most {CATALOGUE_QUERIES} queries "
                    "a page")

    product = Product.objects.select_related("category").get(pk=expected[0])
    [row] = [r for r in rows if r["id"] == product.pk]
    assert row == {"id": product.pk, "name": product.name, "slug": product.slug,
                   "price": str(product.price), "stock": product.stock,
                   "active": product.is_active, "category": product.category.name,
                   "tags": [t.name for t in product.tags.order_by("pk")]}, (
        f"the JSON of a product changed: {row}")

    huge = client.get(url + "?page_size=100000")
    if huge.status_code == 200:
        sent = len(json.loads(huge.content)["results"])
        assert sent <= 100, (
            f"?page_size=100000 sent {sent} products in one response: cap the page size at "
            "100 [hint 3]")
    else:
        assert huge.status_code == 400, f"?page_size=100000 answered {huge.status_code}"

    home = [pk for pk in expected if Product.objects.get(pk=pk).category.slug == "home-graded"]
    rows, _ = _walk(client, url + "?category=home-graded&page_size=7")
    assert [row["id"] for row in rows] == home, (
        "?category=home-graded, followed page after page, does not give exactly that category's "
        "products: keep the other query parameters in the `next` URL [hint 2]")

    for bad in ("not-a-cursor", "W10", "eyJhIjogMX0"):
        answered = client.get(url, {"after": bad}).status_code
        assert answered == 400, (
            f"?after={bad} answered {answered}: refuse a cursor you cannot read with 400 "
            "[hint 3]")
