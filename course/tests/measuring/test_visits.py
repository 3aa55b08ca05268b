"""The model browser revalidates what it keeps: a page answered 304 is shown from its copy,
and what that copy names is still loaded (or taken from the browser's cache). And an access
log is counted once the server has logged what it was still answering."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

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


def test_a_settled_count_waits_for_the_lines_still_being_logged(tmp_path: Path) -> None:
    import time

    from course.measuring.visits import requests_logged

    log = tmp_path / "access.log"
    log.write_text('"GET /static/a.css HTTP/1.1" 200\n')

    def late_lines() -> None:
        time.sleep(0.2)
        with log.open("a") as handle:
            handle.write('"GET /static/a.css HTTP/1.1" 200\n"GET /other HTTP/1.1" 200\n')

    writer = threading.Thread(target=late_lines)
    writer.start()
    assert requests_logged(log, "/static/a.css") == 1  # at once: only what is there
    assert requests_logged(log, "/static/a.css", settle=0.5) == 2
    writer.join()
