"""Submit a Django admin form as a browser would: every field it holds, with the value it shows,
plus what the grader changes (a file to upload).

Reading the form from the page, not from the model, keeps the grader true to whatever the
project's ``ModelAdmin`` shows (fields, inlines, hidden initial values).
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _FormFields(HTMLParser):
    """The successful controls of one ``<form id=…>``, as a browser would send them."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def _add(self, name: str, value: str) -> None:
        self.fields.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = values.get("id") == self.form_id
            return
        if not self.inside or "disabled" in values:
            return
        name = values.get("name")
        if tag == "input" and name:
            kind = values.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in values:
                return
            self._add(name, values.get("value", "on" if kind in ("checkbox", "radio") else ""))
        elif tag == "select" and name:
            self._select = name
            self.fields.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in values:
            self._add(self._select, values.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = "".join(self._text)
            self._add(self._textarea, text[1:] if text.startswith("\n") else text)
            self._textarea = None


def form_data(html: str, form_id: str) -> dict[str, Any]:
    """What submitting ``<form id=form_id>`` unchanged would send: ``{name: value or [values]}``."""
    parser = _FormFields(form_id)
    parser.feed(html)
    if not parser.fields:
        raise AssertionError(f"the page has no form with id {form_id!r}")
    return {name: values if len(values) != 1 else values[0]
            for name, values in parser.fields.items() if values}


def upload_through_the_admin(client: Any, change_url: str, form_id: str, field: str,
                             upload: Any) -> Any:
    """Open an admin change form, put ``upload`` in its file ``field`` and save it."""
    page = client.get(change_url)
    assert page.status_code == 200, f"the admin's change form {change_url} answered {page.status_code}"
    data = form_data(page.content.decode(), form_id)
    data[field] = upload
    return client.post(change_url, data)
