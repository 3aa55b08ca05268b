"""What is selling now: the best sellers of the last week of trading, the units sold day by
day, and the newest reviews of the whole shop."""

from datetime import timedelta
from decimal import Decimal

from django.shortcuts import render

from .. import analytics
from ..models import Order, OrderItem, Review, recent_since

TRENDING_DAYS = 7
TOP_PRODUCTS = 10
NEWEST_REVIEWS = 8


def trending(request):
    """The ten products that sold the most units in the last seven days of trading (cancelled
    orders aside; most units first, then by name), the units sold on each of those days, and
    the eight newest reviews."""
    since = recent_since(TRENDING_DAYS)
    # TODO(14.1): every line of the week comes back to Python, then its product, its order and,
    # for the best sellers, their category and every review, one query at a time. The
    # database can add up units and money, by product and by day, and fetch what the rows
    # show along with them.
    # TODO(14.3): the page is computed again for every visitor, although it only changes when
    # an order or a review does.
    lines = (
        OrderItem.objects.filter(order__created_at__gte=since)
        .exclude(order__status=Order.Status.CANCELLED)
        .order_by("pk")
    )
    sold = {}
    per_day = {}
    for line in lines:
        product = line.product
        row = sold.setdefault(
            product.pk, {"product": product, "units": 0, "revenue": Decimal("0.00")}
        )
        row["units"] += line.quantity
        row["revenue"] += line.line_total()
        day = line.order.created_at.date()
        per_day[day] = per_day.get(day, 0) + line.quantity
    best = sorted(sold.values(),
                  key=lambda row: (-row["units"], row["product"].name, row["product"].pk))
    best = best[:TOP_PRODUCTS]
    for row in best:
        row["category"] = row["product"].category.name
        row["rating"] = row["product"].average_rating()
    first_day = since.date()
    # Eight calendar days: the first is the part of a day where the week begins.
    days = [first_day + timedelta(days=n) for n in range(TRENDING_DAYS + 1)]
    days = [{"day": day, "units": per_day.get(day, 0)} for day in days]
    most = max([day["units"] for day in days] + [1])
    for day in days:
        day["percent"] = round(100 * day["units"] / most)
    reviews = Review.objects.order_by("-created_at")[:NEWEST_REVIEWS]
    analytics.record_page_view(request, "trending")
    return render(
        request,
        "shop/trending.html",
        {"days_back": TRENDING_DAYS, "best": best, "days": days, "reviews": reviews},
    )
