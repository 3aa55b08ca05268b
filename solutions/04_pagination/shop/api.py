"""A small JSON API for the shop's partners: plain views returning JSON."""

from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import datetime

from django.http import JsonResponse

from .models import Order, Product

ORDERS_PER_PAGE = 100


def product_list(request):
    """Every product in the catalogue, with its category and tags."""
    products = (
        Product.objects.order_by("pk")
        .select_related("category")
        .prefetch_related("tags")
        # The descriptions are the widest column and the API never sends them.
        .only("name", "slug", "price", "stock", "is_active", "category__name")
    )
    data = []
    for product in products:
        data.append({
            "id": product.pk,
            "name": product.name,
            "slug": product.slug,
            "price": str(product.price),
            "stock": product.stock,
            "active": product.is_active,
            "category": product.category.name,
            "tags": [tag.name for tag in product.tags.all()],
        })
    return JsonResponse({"count": len(data), "results": data})


def _cursor_for(order):
    """An opaque bookmark of the last order sent: its creation time and id."""
    raw = f"{order.created_at.isoformat()}|{order.pk}".encode()
    return urlsafe_b64encode(raw).decode().rstrip("=")


def _position(cursor):
    """(created_at, pk) from a cursor; ValueError if it is not one of ours."""
    try:
        raw = urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, pk = raw.split("|")
        return datetime.fromisoformat(moment), int(pk)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"not a cursor: {cursor!r}") from error


def order_list(request):
    """Every order, newest first, a page at a time: follow `next` until it is null.

    Keyset pagination: the `after` cursor says where the previous page stopped, and the
    query asks for the orders just older than that, so page 500 costs what page 1 costs.
    ?customer=<email> keeps one customer's orders.
    """
    orders = (
        Order.objects.order_by("-created_at", "-pk")  # pk breaks ties between equal times
        .select_related("customer")
        .prefetch_related("items")
    )
    email = request.GET.get("customer")
    if email:
        orders = orders.filter(customer__email=email)
    if request.GET.get("after"):
        try:
            created_at, pk = _position(request.GET["after"])
        except ValueError as error:
            return JsonResponse({"error": str(error)}, status=400)
        # Older than the cursor: created_at < t, or created_at = t and pk < p. Written as a
        # range (<=) minus the rows already sent, so an index on created_at can seek to it;
        # the equivalent OR makes SQLite walk the index from the newest order.
        orders = orders.filter(created_at__lte=created_at).exclude(created_at=created_at,
                                                                   pk__gte=pk)
    page = list(orders[: ORDERS_PER_PAGE + 1])  # one more tells whether a next page exists
    more, page = len(page) > ORDERS_PER_PAGE, page[:ORDERS_PER_PAGE]
    data = [
        {
            "id": order.pk,
            "customer": order.customer.email,
            "status": order.status,
            "created_at": order.created_at.isoformat(),
            "items": order.item_count(),
            "total": str(order.total()),
        }
        for order in page
    ]
    next_url = None
    if more:
        query = request.GET.copy()
        query["after"] = _cursor_for(page[-1])
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return JsonResponse({"results": data, "next": next_url})
