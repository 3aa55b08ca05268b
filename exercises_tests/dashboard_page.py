"""A customer's dashboard as users see it: read from the page's HTML, and what it should
show, read from the database. Shared by the graders of 02.2 and 05.9."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser

_SPEND = re.compile(r"lifetime spend <strong>([^<]*?) EUR</strong>")
_ORDER_COUNT = re.compile(r"(\d+) orders? ·")
_DASHBOARD_ORDER = re.compile(
    r'<h3>\s*#(?P<pk>\d+) ·.*?· (?P<total>[^<]*?) EUR\s*</h3>\s*<ul>(?P<items>.*?)</ul>', re.S)
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
        for match in _DASHBOARD_ORDER.finditer(html))
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


class _Forms(HTMLParser):
    """Every form's id, action and hidden fields, and every submit button with its form."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict] = {}
        self.buttons: list[dict[str, str | None]] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            key = values.get("id") or f"form-{len(self.forms)}"
            self.forms[key] = {"action": values.get("action", ""), "fields": {}}
            self._open = key
        elif tag == "input" and values.get("type") == "hidden":
            owner = values.get("form") or self._open
            if owner in self.forms and values.get("name"):
                self.forms[owner]["fields"][values["name"]] = values.get("value", "")
        elif tag == "button" and values.get("type", "submit") == "submit":
            self.buttons.append({"form": values.get("form") or self._open,
                                 "name": values.get("name"), "value": values.get("value")})

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


@dataclass(frozen=True)
class Submission:
    """What a browser posts when the button is pressed."""

    action: str
    data: dict[str, str]


def order_again(html: str, order_pk: int) -> Submission | None:
    """The request a browser makes when the "Order again" button of order ``order_pk`` is
    pressed: its form's action and fields, the button's own name and value; None when the
    page has no such button."""
    parser = _Forms()
    parser.feed(html)
    for button in parser.buttons:
        form = parser.forms.get(button["form"] or "")
        if form is None:
            continue
        data = dict(form["fields"])
        if button["name"]:
            data[button["name"]] = button["value"] or ""
        if str(order_pk) in data.values():
            return Submission(form["action"], data)
    return None
