"""A customer's dashboard: their details, latest orders and lifetime spend."""

from decimal import Decimal

from django.shortcuts import get_object_or_404, render

from ..models import Customer, Order

RECENT_ORDERS_ON_DASHBOARD = 10


def customer_dashboard(request, pk):
    """A customer's details, their latest orders and what they have spent with us."""
    customer = get_object_or_404(Customer, pk=pk)
    # TODO(02.2): a fixed number of queries whatever the number of orders: the recent
    # orders with their items and products, and the lifetime spend computed by the database.
    orders = customer.orders.order_by("-created_at")
    lifetime_spend = sum(
        (order.total() for order in orders if order.status != Order.Status.CANCELLED),
        Decimal("0.00"),
    )
    return render(
        request,
        "shop/customer_dashboard.html",
        {
            "customer": customer,
            "recent_orders": orders[:RECENT_ORDERS_ON_DASHBOARD],
            "order_count": len(orders),
            "lifetime_spend": lifetime_spend,
        },
    )


# TODO(05.9): once the template caches the orders (see its TODO), whatever this view
# computes before rendering still runs on every visit; and a customer's cached orders
# must be forgotten the moment one of their orders or order lines changes.
