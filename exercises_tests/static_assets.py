"""What a browser fetches for a page, and what it may keep: read from real HTTP responses.

The chapter 07 graders request pages from a real server, collect what the
HTML and its stylesheets name (stylesheets, scripts, icons, images, the
``url()`` references inside CSS) and judge the headers the way a browser's
cache does (RFC 9111 freshness: ``no-cache``/``no-store``, ``max-age``,
``Expires``, the heuristic from ``Last-Modified``).
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

YEAR = 365 * 24 * 3600


@dataclass
class Fetched:
    """One real HTTP response: status, headers (names in lower case) and the body's bytes."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def directives(self) -> dict[str, str | bool]:
        """``Cache-Control`` as a dict: ``{"max-age": "60", "public": True}``."""
        found: dict[str, str | bool] = {}
        for part in self.header("Cache-Control").split(","):
            name, _, value = part.strip().partition("=")
            if name:
                found[name.lower()] = value.strip('"') if value else True
        return found

    def varies_on(self, header: str) -> bool:
        return header.lower() in {part.strip().lower() for part in self.header("Vary").split(",")}


def fetch(url: str, headers: dict[str, str] | None = None, timeout: float = 30) -> Fetched:
    """GET ``url`` exactly as asked: no redirects followed, no encoding added or undone."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
        response = connection.getresponse()
        body = response.read()
        found = {name.lower(): value for name, value in response.getheaders()}
        return Fetched(url, response.status, found, body)
    finally:
        connection.close()


def freshness(response: Fetched) -> float:
    """Seconds a browser may reuse ``response`` without asking (RFC 9111, section 4.2)."""
    directives = response.directives()
    if "no-store" in directives or "no-cache" in directives:
        return 0
    if "max-age" in directives:
        try:
            return max(0, int(str(directives["max-age"])))
        except ValueError:
            return 0
    date = _date(response.header("Date"))
    expires = _date(response.header("Expires"))
    if response.header("Expires"):
        return max(0.0, (expires - date).total_seconds()) if expires and date else 0
    modified = _date(response.header("Last-Modified"))
    if date and modified:  # browsers' heuristic: a tenth of the time since the last change
        return max(0.0, (date - modified).total_seconds() / 10)
    return 0


def _date(text: str):
    try:
        return parsedate_to_datetime(text) if text else None
    except (TypeError, ValueError):
        return None


class _Subresources(HTMLParser):
    """The URLs a browser loads to show a page: stylesheets, icons, scripts, images."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (kind, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "link":
            rel = values.get("rel", "").lower().split()
            kind = "stylesheet" if "stylesheet" in rel else "icon" if "icon" in rel else ""
            if kind and values.get("href"):
                self.found.append((kind, values["href"]))
        elif tag == "script" and values.get("src"):
            self.found.append(("script", values["src"]))
        elif tag == "img" and values.get("src"):
            self.found.append(("image", values["src"]))


CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


def subresources(page: Fetched) -> list[tuple[str, str]]:
    """``(kind, absolute URL)`` of everything the page's HTML names, in order, once each."""
    parser = _Subresources()
    parser.feed(page.body.decode("utf-8", "replace"))
    seen: dict[str, str] = {}
    for kind, url in parser.found:
        seen.setdefault(urljoin(page.url, url), kind)
    return [(kind, url) for url, kind in seen.items()]


def css_references(stylesheet: Fetched) -> list[str]:
    """Absolute URLs named by ``url()`` in a stylesheet (data: URIs and fragments left out)."""
    text = stylesheet.body.decode("utf-8", "replace")
    found = []
    for _quote, url in CSS_URL.findall(text):
        if url.startswith(("data:", "#")):
            continue
        absolute = urljoin(stylesheet.url, url)
        if absolute not in found:
            found.append(absolute)
    return found


def everything_a_visit_loads(page: Fetched) -> list[tuple[str, Fetched]]:
    """Fetch what the page names, and what its stylesheets name: ``(kind, response)``."""
    loaded: list[tuple[str, Fetched]] = []
    for kind, url in subresources(page):
        response = fetch(url)
        loaded.append((kind, response))
        if kind == "stylesheet" and response.status == 200:
            for reference in css_references(response):
                if all(reference != other.url for _kind, other in loaded):
                    loaded.append(("from a stylesheet", fetch(reference)))
    return loaded


def static_path(url: str) -> str:
    """The path (and query) of a URL, as a learner reads it in a message."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
