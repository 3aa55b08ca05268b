"""A customer's dashboard page as a browser reads it: the orders it lists, and the request its
"Order again" buttons make. Shared by the graders (exercises_tests/dashboard_page.py) and the
measurements that place orders (``replicas``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

DASHBOARD_ORDER = re.compile(
    r'<h3>\s*#(?P<pk>\d+) ·.*?· (?P<total>[^<]*?) EUR\s*</h3>\s*<ul>(?P<items>.*?)</ul>', re.S)


def listed_orders(html: str) -> list[int]:
    """The ids of the orders the dashboard lists, in its order."""
    return [int(match["pk"]) for match in DASHBOARD_ORDER.finditer(html)]


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
