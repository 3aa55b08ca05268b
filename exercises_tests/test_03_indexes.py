"""Chapter 03 — Indexes: graders.

Each grader checks four things, on SQLite and on PostgreSQL:

1. the models and the migrations agree (``makemigrations --check``), and the
   migrations applied (the test database is built by running them);
2. the index is really in the database (introspection);
3. the models declare it (an index made by hand-written SQL is unknown to Django);
4. the plan of the query the shop runs really reads that index, on a table of
   20,000 orders over two years whose statistics are fresh (``ANALYZE``), so the
   planner chooses with numbers like the ``medium`` shop's.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from declared_indexes import first_plan_line, migrations_match_models, used_index
from django.utils import timezone

from course.measuring import plans

pytestmark = pytest.mark.django_db

ORDERS = 20_000
CUSTOMERS = 1_000
DAYS = 730
TABLE = "shop_order"


@pytest.fixture
def orders(shop):
    """20,000 orders of 1,000 customers over two years (the medium shop's proportions);
    pending orders are recent, or rare."""
    from shop.models import Customer, Order

    shop("tiny", customers=CUSTOMERS, orders=0, reviews=0)
    customers = list(Customer.objects.order_by("pk"))
    plans.fresh_table(TABLE)  # rows on disk in the order written, as in a shop's own table
    newest = timezone.now().replace(microsecond=0)
    step = timedelta(days=DAYS) / ORDERS
    rows = []
    for n in range(ORDERS):
        placed = newest - step * (ORDERS - 1 - n)
        recent = newest - placed < timedelta(days=2)
        pending = (recent and n % 2 == 0) or n % 50 == 0
        done = ("shipped", "paid", "shipped", "cancelled")[n % 4]
        rows.append(Order(customer=customers[(n * 7) % len(customers)], created_at=placed,
                          status="pending" if pending else done))
    Order.objects.bulk_create(rows, batch_size=2_000)
    plans.analyze()
    return customers


def test_03_1_created_at_index(orders, measured):
    from shop.models import Order, recent_since

    migrations_match_models()
    since = recent_since(days=14)
    window = plans.plan_of(
        lambda: list(Order.objects.filter(created_at__gte=since).order_by("-created_at"))
    )
    newest = plans.plan_of(lambda: recent_since(days=14))
    measured(first_plan_line(window), target="an index on created_at, and no sort", unit="")
    for plan, query in ((window, "the last 14 days of orders, newest first"),
                        (newest, "the newest order (recent_since)")):
        used_index(Order, plan, lambda d: d.columns[:1] == ["created_at"] and not d.partial,
                    f"{query} does not read an index on created_at", hint=2)
        assert not plans.sorts(plan), f"{query} still sorts the rows itself:\n{plan} [hint 2]"


def test_03_2_customer_recent_orders_index(orders, measured):
    from django.db.models import Count
    from shop.models import Customer, Order

    migrations_match_models()
    customer = Customer.objects.annotate(n=Count("orders")).order_by("-n", "pk").first()
    plan = plans.plan_of(lambda: list(customer.orders.order_by("-created_at")[:10]))
    measured(first_plan_line(plan), target="an index on (customer, created_at), and no sort",
             unit="")
    used_index(Order, plan, lambda d: d.columns[:2] == ["customer_id", "created_at"],
                "a customer's newest orders do not read an index on (customer, created_at)",
                hint=2)
    assert not plans.sorts(plan), (
        f"the database still sorts the customer's orders itself:\n{plan} [hint 2]"
    )


def test_03_3_pending_orders_partial_index(orders, measured):
    from django.db.models import Q
    from shop.models import Order

    migrations_match_models()
    pending = Order.objects.filter(status="pending").count()
    for index in Order._meta.indexes:
        if index.condition is None:
            continue
        held = Order.objects.filter(index.condition).count()
        if held != pending and Order.objects.filter(index.condition & Q(status="pending")).exists():
            pytest.fail(
                f"{index.name} holds {held:,} orders for {pending:,} pending ones (condition "
                f"{index.condition}): its condition should keep only the pending orders, the "
                "very condition the count asks for [hint 2]", pytrace=False)
    plan = plans.plan_of(lambda: Order.objects.filter(status="pending").count())
    measured(first_plan_line(plan), target="a partial index on the pending orders", unit="")
    details = used_index(Order, plan, lambda d: True,
                          "counting the pending orders reads no index", hint=2,
                          declare_hint=2)
    assert details.partial, (
        f"{details.name} indexes every order ({details.definition}): a partial index "
        "(condition=Q(status=\"pending\")) holds only the pending ones [hint 2]"
    )
