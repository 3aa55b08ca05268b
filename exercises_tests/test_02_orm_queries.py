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

from course.measure import queries_for

pytestmark = pytest.mark.django_db


def _get(client, url):
    holder = {}

    def fetch():
        holder["response"] = client.get(url)

    count, _ = queries_for(fetch)
    response = holder["response"]
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
