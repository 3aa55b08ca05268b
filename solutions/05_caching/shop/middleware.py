"""Site-wide middleware."""

from django.core.cache import cache

from .models import Order

PENDING_SECONDS = 30


class ShopStatusMiddleware:
    """Tells every page how many orders wait for the warehouse, and counts page views.

    The open-order count is shown in the page header and sent as the
    `X-Pending-Orders` header, which the warehouse dashboard polls.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def count_pending():
        return Order.objects.filter(status=Order.Status.PENDING).count()

    def __call__(self, request):
        # Recounted at most every PENDING_SECONDS, not on every request.
        pending = cache.get_or_set("pending-orders", self.count_pending, PENDING_SECONDS)
        request.pending_orders = pending

        views = cache.get("page_views", 0) + 1
        cache.set("page_views", views, timeout=None)

        response = self.get_response(request)
        response["X-Pending-Orders"] = str(pending)
        response["X-Page-Views"] = str(views)
        return response
