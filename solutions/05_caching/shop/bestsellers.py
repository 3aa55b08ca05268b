"""The shop's best sellers: the products that sold the most units."""

import time

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
LOCK_KEY = "best-sellers:lock"
LOCK_SECONDS = 10  # longer than a computation ever takes


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
    rows = cache.get(CACHE_KEY)
    if rows is None:
        rows = _compute_once()
    return rows[:limit]


def _compute_once():
    """Compute the list in one process only, however many ask for it at the same moment.

    The caller that adds the lock key computes and stores the list; the others wait for
    it while the lock exists (at most LOCK_SECONDS). Without a lock (its holder died, or
    Redis is down), they compute it themselves.
    """
    if cache.add(LOCK_KEY, "computing", LOCK_SECONDS):
        try:
            rows = cache.get(CACHE_KEY)  # stored by the previous lock holder meanwhile?
            if rows is None:
                rows = _compute()
                cache.set(CACHE_KEY, rows, TIMEOUT)
            return rows
        finally:
            cache.delete(LOCK_KEY)
    deadline = time.monotonic() + LOCK_SECONDS
    while time.monotonic() < deadline and cache.has_key(LOCK_KEY):
        time.sleep(0.02)
        rows = cache.get(CACHE_KEY)
        if rows is not None:
            return rows
    return cache.get(CACHE_KEY) or _compute()


@receiver([post_save, post_delete], sender=Order)
@receiver([post_save, post_delete], sender=OrderItem)
def forget_best_sellers(**kwargs):
    """An order or a line changed: the next call computes the list again.

    Deleted now, and again once the transaction commits: a request that read the
    old rows in between must not leave them in the cache.
    """
    cache.delete(CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))
