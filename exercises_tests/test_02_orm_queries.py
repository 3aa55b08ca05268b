"""Chapter 02 — ORM queries: graders.

Each page is measured at two data sizes: an N+1 shows up as a query count
that grows with the data. Each grader also checks that the page still shows
what it showed before (the optimisation must not change what users see).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from course.measuring.measure import body_pieces, counted, peak_memory, queries_for

pytestmark = pytest.mark.django_db


def _get(client, url):
    response, count, _ = counted(client.get, url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return count, response.content.decode()


def _budget_message(page, sizes, counts, unit):
    return (
        f"{page} ran {counts[0]} queries for {sizes[0]} {unit} and {counts[1]} for {sizes[1]}: "
        "the count grows with the data (an N+1)"
    )


def test_02_1_product_detail_reviews(client, shop, measured):
    from shop.models import Customer, Product, Review

    shop("tiny", reviews=0)
    product = Product.objects.filter(is_active=True).order_by("pk").first()
    customers = list(Customer.objects.order_by("pk"))
    url = reverse("shop:product_detail", args=[product.slug])
    sizes, counts = (3, 12), []
    for size in sizes:
        Review.objects.filter(product=product).delete()
        Review.objects.bulk_create(
            Review(product=product, customer=customers[n], rating=1 + n % 5, body=f"review {n}",
                   created_at=timezone.now() - timedelta(days=n))
            for n in range(size)
        )
        count, html = _get(client, url)
        counts.append(count)
        for customer in customers[:size]:
            assert customer.name in html, f"the review by {customer.name} is missing"
    measured(f"{counts[0]} → {counts[1]}", target="the same count for 3 and 12 reviews",
             unit="queries")
    assert counts[0] == counts[1], _budget_message("the product page", sizes, counts, "reviews")


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def test_02_2_customer_dashboard(client, shop, measured):
    from shop.models import Customer, Order, OrderItem, Product

    shop("tiny", orders=0)
    customer = Customer.objects.order_by("pk").first()
    products = list(Product.objects.order_by("pk")[:6])
    url = reverse("shop:customer_dashboard", args=[customer.pk])
    sizes, counts = (2, 8), []
    for size in sizes:
        Order.objects.filter(customer=customer).delete()
        statuses = ["paid", "shipped", "cancelled", "pending"]
        for n in range(size):
            order = Order.objects.create(customer=customer, status=statuses[n % 4],
                                         created_at=timezone.now() - timedelta(days=n))
            OrderItem.objects.bulk_create(
                OrderItem(order=order, product=products[(n + k) % 6], quantity=1 + k,
                          unit_price=products[(n + k) % 6].price)
                for k in range(2)
            )
        expected = sum(
            (item.unit_price * item.quantity
             for item in OrderItem.objects.filter(order__customer=customer)
             .exclude(order__status="cancelled")),
            Decimal("0.00"),
        )
        count, html = _get(client, url)
        counts.append(count)
        shown = re.search(r"lifetime spend <strong>([^<]*)</strong>", html)
        assert shown and shown[1] == f"{_money(expected)} EUR", (
            f"the lifetime spend should read {_money(expected)} EUR, "
            f"not {shown[1] if shown else 'nothing'}"
        )
        for order in Order.objects.filter(customer=customer):
            assert f"#{order.pk}" in html, f"order #{order.pk} is missing from the dashboard"
    measured(f"{counts[0]} → {counts[1]}", target="the same count for 2 and 8 orders",
             unit="queries")
    assert counts[0] == counts[1], _budget_message("the dashboard", sizes, counts, "orders")


ROW = re.compile(
    r'<a href="(?P<url>[^"]+)">(?P<name>[^<]+)</a></td>.*?'
    r'<td class="num">[^<]*</td>\s*<td class="num">(?P<rating>[^<]*)</td>',
    re.S,
)


def test_02_3_product_list_ratings(client, shop, measured):
    from shop.models import Product, Review

    sizes, counts = (10, 30), []
    for size in sizes:
        shop("tiny", products=size, reviews=3 * size)
        count, html = _get(client, reverse("shop:product_list"))
        counts.append(count)
        shown = {m["name"]: m["rating"].strip() for m in ROW.finditer(html)}
        active = Product.objects.filter(is_active=True).annotate(n=Count("review"))
        assert len(shown) == active.count(), "every active product has a row"
        for product in active:
            ratings = list(Review.objects.filter(product=product).values_list("rating", flat=True))
            expected = str(round(sum(ratings) / len(ratings), 1)) if ratings else "–"
            assert shown.get(product.name) == expected, (
                f"{product.name}: the page shows rating {shown.get(product.name)!r}, "
                f"expected {expected!r}"
            )
    measured(f"{counts[0]} → {counts[1]}", target="the same count for 10 and 30 products",
             unit="queries")
    assert counts[0] == counts[1], _budget_message("the product list", sizes, counts, "products")


def test_02_4_order_list(client, shop, measured):
    from shop.models import Order, recent_since

    sizes, counts, shown_orders = (20, 80), [], []
    for size in sizes:
        shop("tiny", orders=size)
        count, html = _get(client, reverse("shop:order_list"))
        counts.append(count)
        shown = list(Order.objects.filter(created_at__gte=recent_since(days=14))
                     .select_related("customer"))
        shown_orders.append(len(shown))
        for order in shown:
            assert f"#{order.pk}</td>" in html, f"order #{order.pk} is missing"
            assert order.customer.name in html
            assert f'<td class="num">{order.total()}</td>' in html, (
                f"order #{order.pk} should show the total {order.total()}"
            )
    assert shown_orders[0] < shown_orders[1]
    measured(f"{counts[0]} → {counts[1]}",
             target=f"the same count for {shown_orders[0]} and {shown_orders[1]} orders",
             unit="queries")
    assert counts[0] == counts[1], _budget_message("the order list", shown_orders, counts,
                                                   "orders")


def _expected_report():
    """The sales report recomputed here from plain rows, for comparison to the cent."""
    from collections import defaultdict

    from shop.models import OrderItem, recent_since

    since = recent_since(days=90)
    rows = OrderItem.objects.filter(
        order__created_at__gte=since, order__status__in=("paid", "shipped")
    ).values_list("unit_price", "quantity", "order_id", "order__created_at", "product_id",
                  "product__name", "product__category__name")
    total, orders = Decimal("0.00"), set()
    by_category, by_month = defaultdict(Decimal), defaultdict(Decimal)
    units, revenue, names = defaultdict(int), defaultdict(Decimal), {}
    for price, quantity, order, created, product, name, category in rows:
        line = price * quantity
        total += line
        orders.add(order)
        by_category[category] += line
        by_month[created.strftime("%Y-%m")] += line
        units[product] += quantity
        revenue[product] += line
        names[product] = name
    best = sorted(units, key=lambda pk: (-units[pk], pk))[:10]
    return {
        "total": total,
        "orders": len(orders),
        "by_category": sorted(by_category.items()),
        "by_month": sorted(by_month.items()),
        "best_sellers": [{"product": names[pk], "units": units[pk], "revenue": revenue[pk]}
                         for pk in best],
    }


def test_02_5_sales_report_in_the_database(client, shop, measured):
    from django.db.models.signals import post_init
    from shop.models import OrderItem
    from shop.reports import sales_report

    built_per_size = []
    for orders in (30, 120):
        shop("tiny", orders=orders)
        built: list[int] = []

        def count(sender, built=built, **kwargs):
            built.append(1)

        post_init.connect(count, sender=OrderItem)
        try:
            report = sales_report()
        finally:
            post_init.disconnect(count, sender=OrderItem)
        built_per_size.append(len(built))
        expected = _expected_report()
        for key, value in expected.items():
            assert report[key] == value, f"report[{key!r}] changed: {report[key]!r} ≠ {value!r}"
        assert client.get(reverse("shop:sales_report")).status_code == 200
    measured(f"{built_per_size[0]} → {built_per_size[1]}",
             target="0 OrderItem objects built in Python", unit="order items")
    assert built_per_size == [0, 0], (
        f"the report built {built_per_size[1]} OrderItem objects in Python: add up in the "
        "database instead"
    )


def test_02_6_bulk_price_change(shop, measured):
    from shop.models import Category, Product
    from shop.pricing import change_prices, new_price

    sizes, counts = (10, 40), []
    for size in sizes:
        shop("tiny", categories=2, products=2 * size, reviews=0, orders=0)
        category = Category.objects.order_by("pk").first()
        before = dict(Product.objects.filter(category=category).values_list("pk", "price"))
        untouched = dict(Product.objects.exclude(category=category).values_list("pk", "price"))
        count, _ = queries_for(change_prices, category, Decimal("7.5"))
        counts.append((len(before), count))
        after = dict(Product.objects.filter(category=category).values_list("pk", "price"))
        for pk, price in before.items():
            assert after[pk] == new_price(price, Decimal("7.5")), (
                f"product {pk}: {price} + 7.5% should be {new_price(price, Decimal('7.5'))}, "
                f"not {after[pk]}"
            )
        assert dict(Product.objects.exclude(category=category)
                    .values_list("pk", "price")) == untouched, "other categories changed"
    (small, few), (large, many) = counts
    assert small < large
    measured(f"{few} → {many}", target=f"the same count for {small} and {large} products",
             unit="queries")
    assert few == many, (
        f"change_prices ran {few} queries for {small} products and {many} for {large}: "
        "one write per product"
    )


def _expected_products():
    from shop.models import Product

    return [
        {"id": p.pk, "name": p.name, "slug": p.slug, "price": str(p.price), "stock": p.stock,
         "active": p.is_active, "category": p.category.name,
         "tags": sorted(t.name for t in p.tags.all())}
        for p in Product.objects.order_by("pk")
    ]


def _tags_sorted(results):
    """Tags have no defined order (Tag has no Meta.ordering): compare them as sets. Rows by
    id: from 04.5 on, the API sends the catalogue in name order."""
    return sorted(({**row, "tags": sorted(row["tags"])} for row in results),
                  key=lambda row: row["id"])


def test_02_7_api_fetches_less(client, shop, measured):
    import json

    from django.db import connection

    sizes, counts = (10, 30), []
    for size in sizes:
        shop("tiny", products=size, orders=0)

        response, count, statements = counted(client.get, reverse("api:product_list"))
        counts.append(count)
        assert response.status_code == 200
        assert _tags_sorted(json.loads(response.content)["results"]) == _expected_products(), (
            "the API's JSON changed"
        )
        column = connection.ops.quote_name("description")
        loading = [sql for sql in statements if column in sql or ".description" in sql]
        assert not loading, f"the API still loads every product's description: {loading[0][:200]}"
    measured(f"{counts[0]} → {counts[1]}", target="the same count for 10 and 30 products",
             unit="queries")
    assert counts[0] == counts[1], _budget_message("the products API", sizes, counts, "products")


def _add_order_lines(total_lines: int, lines_per_order: int = 10) -> None:
    """Bring the shop to `total_lines` order lines (whole orders of `lines_per_order`)."""
    from shop.models import Customer, Order, OrderItem, Product

    customers = list(Customer.objects.order_by("pk"))
    products = list(Product.objects.order_by("pk"))
    start = timezone.now() - timedelta(days=400)
    have = OrderItem.objects.count()
    first = Order.objects.count()
    orders = Order.objects.bulk_create(
        Order(customer=customers[n % len(customers)], status="paid",
              created_at=start + timedelta(minutes=7 * n))
        for n in range(first, first + (total_lines - have) // lines_per_order)
    )
    OrderItem.objects.bulk_create(
        (OrderItem(order=order, product=products[(order.pk + line) % len(products)],
                   quantity=1 + line % 3, unit_price=Decimal("3.10") + line)
         for order in orders for line in range(lines_per_order)),
        batch_size=2000,
    )


def _expected_csv_digest() -> tuple[str, int]:
    import csv
    import hashlib
    import io

    from shop.models import OrderItem

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["order", "placed_at", "status", "customer", "product", "quantity",
                     "unit_price", "line_total"])
    rows = OrderItem.objects.order_by("order_id", "pk").values_list(
        "order_id", "order__created_at", "order__status", "order__customer__email",
        "product__name", "quantity", "unit_price")
    for order_id, placed_at, status, email, product, quantity, unit_price in rows:
        writer.writerow([order_id, placed_at.isoformat(), status, email, product, quantity,
                         unit_price, unit_price * quantity])
    text = out.getvalue()
    return hashlib.sha256(text.encode()).hexdigest(), text.count("\n")


def _download(client, url) -> tuple[str, int, bool]:
    """Answer ``url`` and read the whole body, piece by piece: its digest, its line count and
    whether it was streamed."""
    import hashlib

    response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    digest, lines = hashlib.sha256(), 0
    for piece in body_pieces(response):
        digest.update(piece)
        lines += piece.count(b"\n")
    return digest.hexdigest(), lines, bool(getattr(response, "streaming", False))


def test_02_8_streaming_export(client, shop, measured):
    shop("tiny", orders=0)
    url = reverse("shop:order_lines_csv")
    # 5× the lines: a streamed export that still holds every row (no iterator, or one huge
    # chunk) grows at least 3.5×; one that holds a chunk stays within 1.2×.
    sizes, peaks = (2_000, 10_000), []
    for size in sizes:
        _add_order_lines(size)
        expected, expected_lines = _expected_csv_digest()
        (digest, lines, streamed), peak = peak_memory(_download, client, url)
        assert lines == expected_lines, (
            f"the export has {lines} lines for {expected_lines - 1} order lines (plus a header)"
        )
        assert digest == expected, "the export's content changed: same columns, same order"
        peaks.append(peak)
        if not streamed:  # the whole file sits in memory before a byte leaves: no need to
            measured(f"{peak / 2**20:.1f} (not streamed)",  # measure it at 10,000 lines
                     target=f"about the same for {sizes[0]:,} and {sizes[1]:,} lines",
                     unit="MiB peak")
            pytest.fail(f"the export builds the whole file ({peak / 2**20:.1f} MiB for "
                        f"{size:,} lines) before sending it: its memory grows with every line. "
                        "Send it in pieces as they are written (StreamingHttpResponse)",
                        pytrace=False)
    ratio = peaks[1] / peaks[0]
    measured(f"{peaks[0] / 2**20:.1f} → {peaks[1] / 2**20:.1f}",
             target=f"about the same for {sizes[0]:,} and {sizes[1]:,} lines", unit="MiB peak")
    assert ratio < 2, (
        f"peak memory grew {ratio:.1f}× ({peaks[0] / 2**20:.1f} → {peaks[1] / 2**20:.1f} MiB) "
        f"when the lines grew {sizes[1] // sizes[0]}×: the export holds every row at once"
    )


PLACE_ORDER_LIMIT = 8  # the customer, the products, the order, its lines, the email's reads
EMAIL_LIMIT = 3  # the lines with their products, the total, the customer


def _post_order(client, customer, lines):
    data = {"customer_id": customer.pk,
            "product_ids": ",".join(str(product.pk) for product, _ in lines),
            "quantities": ",".join(str(quantity) for _, quantity in lines)}
    return counted(client.post, reverse("shop:place_order"), data)


def test_02_9_place_order_in_bulk(client, shop, measured, mailoutbox):
    from shop.emails import send_order_confirmation
    from shop.models import Customer, Order, OrderItem, Product

    shop("tiny", orders=0)
    customer = Customer.objects.order_by("pk").first()
    # Newest first and unsorted prices: lines must get their own product's price, whatever
    # order the database returns the products in.
    products = list(Product.objects.filter(is_active=True).order_by("-pk")[:6])
    for n, product in enumerate(products):
        product.price = Decimal("3.10") + 7 * n
    Product.objects.bulk_update(products, ["price"])
    # The confirmation first: before chapter 06 the view sends it, so its queries count there.
    email_counts = []
    for size in (2, 6):
        order = Order.objects.create(customer=customer, status="pending")
        OrderItem.objects.bulk_create(
            OrderItem(order=order, product=product, quantity=2, unit_price=product.price)
            for product in products[:size])
        mailoutbox.clear()
        _, count, _ = counted(send_order_confirmation, Order.objects.get(pk=order.pk))
        email_counts.append(count)
        [mail] = mailoutbox
        for product in products[:size]:
            assert product.name in mail.body, (
                f"the confirmation of an order of {size} lines does not name {product.name}")
        assert _money(sum(2 * p.price for p in products[:size])) in mail.body, (
            "the confirmation no longer shows the order's total")
    measured(f"{email_counts[0]} for 2 lines, {email_counts[1]} for 6",
             target=f"the same, at most {EMAIL_LIMIT}", unit="queries (email)")
    assert email_counts[0] == email_counts[1] and email_counts[0] <= EMAIL_LIMIT, (
        f"writing the confirmation ran {email_counts[0]} queries for 2 lines and "
        f"{email_counts[1]} for 6 (at most {EMAIL_LIMIT}, the same for both): the template "
        "reads each line's product on its own [hint 2]")

    sizes, counts = (2, 6), []
    for size in sizes:
        lines = [(product, 1 + n % 3) for n, product in enumerate(products[:size])]
        response, count, _ = _post_order(client, customer, lines)
        assert response.status_code == 302, (
            f"placing an order of {size} lines answered {response.status_code}, not a redirect "
            "to the customer's page")
        counts.append(count)
        order = Order.objects.filter(customer=customer).latest("pk")
        saved = sorted((item.product_id, item.quantity, item.unit_price)
                       for item in OrderItem.objects.filter(order=order))
        wanted = sorted((product.pk, quantity, product.price) for product, quantity in lines)
        assert saved == wanted, (
            f"the order of {size} lines was saved as {saved}, not {wanted} (product id, "
            "quantity, unit price): each line keeps its own product's price")
    measured(f"{counts[0]} for 2 lines, {counts[1]} for 6", target=f"the same, at most "
             f"{PLACE_ORDER_LIMIT}", unit="queries")
    assert counts[0] == counts[1], (
        f"placing an order ran {counts[0]} queries for 2 lines and {counts[1]} for 6: each line "
        "reads its product or saves itself on its own (an N+1) [hint 2]")
    assert counts[0] <= PLACE_ORDER_LIMIT, (
        f"placing an order runs {counts[0]} queries (at most {PLACE_ORDER_LIMIT}): read the "
        "products in one query and save the lines in one [hint 2]")

    inactive = Product.objects.filter(is_active=False).first() or products[-1]
    Product.objects.filter(pk=inactive.pk).update(is_active=False)
    orders, items = Order.objects.count(), OrderItem.objects.count()
    response, _, _ = _post_order(client, customer, [(products[0], 1), (inactive, 1)])
    assert response.status_code == 404, (
        f"an order with a product that is not on sale answered {response.status_code}, not 404")
    assert (Order.objects.count(), OrderItem.objects.count()) == (orders, items), (
        "an order with a product that is not on sale was half saved: check every product "
        "before writing anything [hint 3]")
