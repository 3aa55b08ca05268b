"""Site-wide middleware."""

from django.core.cache import cache

from .models import Order


class ShopStatusMiddleware:
    """Adds the shop's open-order count to every response and counts page views."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        pending = Order.objects.filter(status=Order.Status.PENDING).count()
        request.pending_orders = pending
        views = cache.get("page_views", 0) + 1
        cache.set("page_views", views, None)
        response = self.get_response(request)
        response["X-Pending-Orders"] = str(pending)
        response["X-Page-Views"] = str(views)
        return response
