"""A small JSON API for the shop's partners."""

from django.http import JsonResponse

from .models import Order, Product, recent_since

ORDER_DAYS = 14


def product_list(request):
    data = []
    for product in Product.objects.filter(is_active=True).order_by("pk"):
        data.append({
            "id": product.pk,
            "name": product.name,
            "slug": product.slug,
            "price": str(product.price),
            "category": product.category.name,
            "tags": [tag.name for tag in product.tags.all()],
        })
    return JsonResponse({"count": len(data), "results": data})


def order_list(request):
    data = []
    since = recent_since(days=ORDER_DAYS)
    for order in Order.objects.filter(created_at__gte=since).order_by("-created_at", "-pk"):
        data.append({
            "id": order.pk,
            "customer": order.customer.email,
            "status": order.status,
            "created_at": order.created_at.isoformat(),
            "total": str(order.total()),
        })
    return JsonResponse({"count": len(data), "results": data})
