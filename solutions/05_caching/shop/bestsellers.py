"""The shop's best sellers: the products that sold the most units."""

from django.core.cache import cache
from django.db import transaction
from django.db.models import Sum
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Order, OrderItem

COUNTED_STATUSES = ("paid", "shipped")
CACHE_KEY = "best-sellers"
KEPT = 20  # the cache holds the top 20; a page asks for up to that many
TIMEOUT = 60 * 60  # a safety net: changes invalidate at once (below)


def _compute():
    rows = (
        OrderItem.objects.filter(order__status__in=COUNTED_STATUSES)
        .values("product_id", "product__name", "product__slug")
        .annotate(units=Sum("quantity"))
        .order_by("-units", "product_id")[:KEPT]
    )
    return [
        {"name": row["product__name"], "slug": row["product__slug"], "units": row["units"]}
        for row in rows
    ]


def best_sellers(limit=5):
    """The `limit` products with the most units in paid or shipped orders, most first."""
    return cache.get_or_set(CACHE_KEY, _compute, TIMEOUT)[:limit]


@receiver([post_save, post_delete], sender=Order)
@receiver([post_save, post_delete], sender=OrderItem)
def forget_best_sellers(**kwargs):
    """An order or a line changed: the next call computes the list again.

    Deleted now, and again once the transaction commits: a request that read the
    old rows in between must not leave them in the cache.
    """
    cache.delete(CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))
