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
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from course.measuring.measure import counted

pytestmark = pytest.mark.django_db

ORDER_ROW = re.compile(r"<td>#(\d+)</td>")


def _make_orders(count: int, *, same_time: int = 1) -> list[int]:
    """Replace every order by ``count`` recent ones, one line each, ``same_time`` orders
    sharing each timestamp; their ids, newest first (the order every list uses)."""
    from shop.models import Customer, Order, OrderItem, Product

    Order.objects.all().delete()
    customers = list(Customer.objects.order_by("pk"))
    products = list(Product.objects.order_by("pk"))
    newest = timezone.now().replace(microsecond=0)
    orders = Order.objects.bulk_create(
        Order(customer=customers[n % len(customers)], status=("paid", "shipped", "pending")[n % 3],
              created_at=newest - timedelta(minutes=n // same_time))
        for n in range(count)
    )
    OrderItem.objects.bulk_create(
        OrderItem(order=order, product=products[n % len(products)], quantity=1 + n % 3,
                  unit_price=Decimal("4.20") + n % 7)
        for n, order in enumerate(orders)
    )
    return list(Order.objects.order_by("-created_at", "-pk").values_list("pk", flat=True))


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
        response = client.get(f"{url}?page={number}")
        if response.status_code == 404:
            break
        assert response.status_code == 200, f"?page={number} answered {response.status_code}"
        ids = [int(pk) for pk in ORDER_ROW.findall(response.content.decode())]
        if not ids or set(ids) <= seen:
            break
        pages.append(ids)
        seen.update(ids)
    return pages


def test_04_1_order_list_pages(client, shop, measured):
    shop("tiny", orders=0, reviews=0)
    url = reverse("shop:order_list")
    sizes, counts, lengths = (120, 1_200), [], []
    for size in sizes:
        newest_first = _make_orders(size)
        response, count, _ = counted(client.get, url)
        assert response.status_code == 200, f"the order list answered {response.status_code}"
        html = response.content.decode()
        shown = [int(pk) for pk in ORDER_ROW.findall(html)]
        assert shown, "the order list shows no orders"
        assert len(shown) < size, (
            f"the order list shows all {size} orders on one page: paginate it (?page=N)"
        )
        assert shown == newest_first[: len(shown)], (
            "page 1 must show the newest orders, newest first"
        )
        counts.append(count)
        lengths.append(len(response.content))
    measured(f"{counts[0]} → {counts[1]} queries, {lengths[0] // 1024} → {lengths[1] // 1024} KiB",
             target=f"the same for {sizes[0]:,} and {sizes[1]:,} orders")
    assert counts[0] == counts[1], (
        f"page 1 ran {counts[0]} queries with {sizes[0]} orders and {counts[1]} with {sizes[1]}"
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


# --------------------------------------------------------------------------- 04.2


def test_04_2_api_keyset_pagination(client, shop, measured):
    from shop.models import Order

    shop("tiny", orders=0, reviews=0)
    newest_first = _make_orders(1_050, same_time=7)  # ties straddle page boundaries
    url: str | None = reverse("api:order_list")
    pages: list[tuple[int, int]] = []
    walked: list[int] = []
    while url and len(pages) <= len(newest_first):
        response, count, statements = counted(client.get, url)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        data = json.loads(response.content)
        results = data["results"]
        if not pages:
            assert len(results) < len(newest_first), (
                f"the API sends all {len(results)} orders in one response: send a page "
                "and a `next` link"
            )
        offsets = [sql for sql in statements if re.search(r"\bOFFSET\b", sql, re.IGNORECASE)]
        assert not offsets, (
            f"page {len(pages) + 1} skips rows with OFFSET, which reads and throws away every "
            f"earlier row: {offsets[0][:160]}"
        )
        pages.append((count, len(results)))
        walked.extend(row["id"] for row in results)
        url = _local(data["next"]) if data.get("next") else None
    repeated = sorted({pk for pk in walked if walked.count(pk) > 1})
    assert not repeated, f"orders sent twice: {repeated[:10]} (equal created_at times?)"
    missing = set(newest_first) - set(walked)
    assert not missing, (
        f"{len(missing)} of {len(newest_first)} orders never sent, e.g. {sorted(missing)[:5]} "
        "(orders with equal created_at times need a tie-breaker in the cursor)"
    )
    times = dict(Order.objects.values_list("pk", "created_at"))
    assert all(times[a] >= times[b] for a, b in zip(walked, walked[1:], strict=False)), (
        "the pages are not newest first"
    )
    counts = sorted({count for count, _ in pages})
    measured(f"{len(pages)} pages, {counts[0]}–{counts[-1]} queries each",
             target="every order once; the same queries on every page; no OFFSET")
    assert len(counts) == 1, (
        f"pages ran between {counts[0]} and {counts[-1]} queries: the cost depends on the page"
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
    measured(f"{few} → {many}", target=f"the same count for {few_rows} and {many_rows} rows",
             unit="queries")
    assert few == many, (
        f"the change list ran {few} queries for {few_rows} rows and {many} for {many_rows}: "
        "a query per row"
    )
    response, _, statements = counted(client.get, f"{url}?status__exact=paid")
    assert response.status_code == 200
    full_counts = [sql for sql in statements
                   if re.search(r"COUNT\(", sql, re.IGNORECASE) and "shop_order" in sql
                   and not re.search(r"\bWHERE\b", sql, re.IGNORECASE)]
    assert not full_counts, (
        "filtered by status, the change list still counts every order in the table: "
        f"{full_counts[0][:160]}"
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
        results.append((Customer.objects.count(), Product.objects.count(), count,
                        len(response.content)))
    (c1, p1, q1, b1), (c2, p2, q2, b2) = results
    measured(f"{q1} → {q2} queries, {b1 // 1024} → {b2 // 1024} KiB",
             target=f"the same for {c1}/{p1} and {c2}/{p2} customers/products")
    assert q1 == q2, f"the change form ran {q1} queries, then {q2} with more rows in the tables"
    assert b2 < 1.3 * b1, (
        f"the change form grew from {b1:,} to {b2:,} bytes with {c2} customers and {p2} "
        "products: it lists every one of them in <select> menus"
    )


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
    current: str | None = url
    while current and len(pages) < limit:
        response, count, statements = counted(client.get, current)
        assert response.status_code == 200, f"{current} answered {response.status_code}"
        offsets = [sql for sql in statements if re.search(r"\bOFFSET\b", sql, re.IGNORECASE)]
        assert not offsets, (
            f"page {len(pages) + 1} of the catalogue skips rows with OFFSET: {offsets[0][:160]}")
        data = json.loads(response.content)
        pages.append((count, len(data["results"])))
        rows.extend(data["results"])
        current = _local(data["next"]) if data.get("next") else None
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
