"""The model browser revalidates what it keeps: a page answered 304 is shown from its copy,
and what that copy names is still loaded (or taken from the browser's cache)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from course.measuring.visits import ModelBrowser

PAGE = b'<html><head><link rel="stylesheet" href="/style.css"></head><body>hi</body></html>'
STYLE = b"body { color: black }"


class _Site(http.server.BaseHTTPRequestHandler):
    """A page every browser must revalidate (no-cache, with an ETag) and a stylesheet kept
    for an hour."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/":
            if self.headers.get("If-None-Match") == '"page-1"':
                self.send_response(304)
                self.send_header("ETag", '"page-1"')
                self.end_headers()
                return
            body, headers = PAGE, {"Cache-Control": "no-cache", "ETag": '"page-1"',
                                   "Content-Type": "text/html"}
        else:
            body, headers = STYLE, {"Cache-Control": "max-age=3600", "Content-Type": "text/css"}
        self.send_response(200)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_page_answered_304_is_shown_from_its_copy_with_what_it_names(site: str) -> None:
    browser = ModelBrowser()
    first = browser.visit(site, "/")
    assert [(row["kind"], row["answer"]) for row in first] == [("page", "200"),
                                                                 ("stylesheet", "200")]
    browser.clock += 60
    repeat = browser.visit(site, "/")
    assert [(row["kind"], row["answer"]) for row in repeat] == [
        ("page", "304"), ("stylesheet", "browser cache")]
    assert repeat[0]["bytes"] < first[0]["bytes"] and repeat[1]["bytes"] == 0  # no body, no request
