"""A customer's dashboard as users see it: read from the page's HTML, and what it should
show, read from the database. Shared by the graders of 02.2, 05.9 and 11.4."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from html import unescape

from course.measuring.dashboard_html import DASHBOARD_ORDER, Submission, order_again

_SPEND = re.compile(r"lifetime spend <strong>([^<]*?) EUR</strong>")
_ORDER_COUNT = re.compile(r"(\d+) orders? ·")
_DASHBOARD_ITEM = re.compile(r"<li>(?P<quantity>\d+) × <a [^>]*>(?P<product>[^<]*)</a> at "
                            r"(?P<price>[^<]*)</li>")

Line = tuple[int, str, str]  # quantity, product name, unit price as shown


@dataclass(frozen=True)
class Dashboard:
    """The figures and orders one dashboard shows (or should show)."""

    order_count: int | None
    spend: str | None
    orders: tuple[tuple[int, str, tuple[Line, ...]], ...]  # (pk, total, sorted lines), listed

    def difference(self, expected: Dashboard) -> str:
        """'' when equal; else the first thing that differs, in words."""
        if self.order_count != expected.order_count:
            return f"it says {self.order_count} orders, not {expected.order_count}"
        if self.spend != expected.spend:
            return f"it says lifetime spend {self.spend} EUR, not {expected.spend}"
        listed = [pk for pk, _, _ in self.orders]
        wanted = [pk for pk, _, _ in expected.orders]
        if listed != wanted:
            return f"it lists orders {_ids(listed)}, not {_ids(wanted)}"
        for (pk, total, lines), (_, want_total, want_lines) in zip(self.orders, expected.orders, strict=True):
            if total != want_total:
                return f"order #{pk} shows the total {total} EUR, not {want_total}"
            if lines != want_lines:
                return f"order #{pk} lists {list(lines)}, not {list(want_lines)}"
        return ""


def _ids(pks: list[int]) -> str:
    return ", ".join(f"#{pk}" for pk in pks) or "none"


def shown(html: str) -> Dashboard:
    """What the page says."""
    count = _ORDER_COUNT.search(html)
    spend = _SPEND.search(html)
    orders = tuple(
        (int(match["pk"]), match["total"], tuple(sorted(
            (int(item["quantity"]), unescape(item["product"]), item["price"])
            for item in _DASHBOARD_ITEM.finditer(match["items"]))))
        for match in DASHBOARD_ORDER.finditer(html))
    return Dashboard(int(count[1]) if count else None, spend[1] if spend else None, orders)


def truth(customer, recent: int) -> Dashboard:
    """What the dashboard of ``customer`` must show now: every order counted, the spend of
    all but the cancelled ones, the ``recent`` newest listed with their lines."""
    from shop.models import Order, OrderItem

    orders = Order.objects.filter(customer=customer)
    spend = sum((item.unit_price * item.quantity for item in
                 OrderItem.objects.filter(order__customer=customer)
                 .exclude(order__status="cancelled")), Decimal("0.00"))
    listed = tuple(
        (order.pk, str(order.total()), tuple(sorted(
            (item.quantity, item.product.name, str(item.unit_price))
            for item in order.items.select_related("product"))))
        for order in orders.order_by("-created_at")[:recent])
    return Dashboard(orders.count(), f"{spend:.2f}", listed)


__all__ = ["Dashboard", "Submission", "order_again", "shown", "truth"]
