"""The warehouse's order list."""

from django.shortcuts import render

from ..models import Order, recent_since

ORDER_LIST_DAYS = 14


def order_list(request):
    """The orders of the last two weeks, newest first."""
    # TODO(04.1): the two-week window is a stopgap. Show every order, newest first, a page
    # at a time (Paginator): the template shows page links when it gets a `page_obj`.
    since = recent_since(days=ORDER_LIST_DAYS)
    # TODO(02.4): every row shows the customer, the item count and the total: load them
    # in a fixed number of queries, however many orders the period has.
    orders = Order.objects.filter(created_at__gte=since).order_by("-created_at")
    return render(request, "shop/order_list.html", {"orders": orders, "since": since})
