"""The graders' browser: forms with files arrive as a browser sends them, its headers go with
every request, and an error status is an answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from course.measuring.visitor import Upload, Visitor, csrf_token, multipart, random_address


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with what it received; /missing is a 404."""

    received: list[tuple[str, dict[str, str], bytes]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        type(self).received.append((self.path, dict(self.headers.items()), body))
        status = 404 if self.path == "/missing" else 200
        self.send_response(status)
        self.send_header("Retry-After", "7")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[str]:
    _Echo.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _parts(content_type: str, body: bytes) -> dict[str, list[tuple[str | None, bytes]]]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    found: dict[str, list[tuple[str | None, bytes]]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        found.setdefault(name, []).append((part.get_filename(), part.get_payload(decode=True)))
    return found


def test_a_form_with_a_file_arrives_whole_with_repeated_fields(echo: str) -> None:
    picture = bytes(range(256)) * 4  # every byte value, CR and LF among them
    answer = Visitor().answer(f"{echo}/upload", {"name": "Mug", "tags": ["1", "3"]},
                              files={"image": Upload("mug.png", picture, "image/png")})
    assert answer.status == 200
    _, headers, body = _Echo.received[-1]
    parts = _parts(headers["Content-Type"], body)
    assert parts["name"] == [(None, b"Mug")]
    assert parts["tags"] == [(None, b"1"), (None, b"3")]
    assert parts["image"] == [("mug.png", picture)]


def test_a_plain_form_is_urlencoded_with_repeated_fields(echo: str) -> None:
    Visitor().ask(f"{echo}/form", {"name": "Mug & cup", "tags": ["1", "3"]})
    _, headers, body = _Echo.received[-1]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert body == b"name=Mug+%26+cup&tags=1&tags=3"


def test_headers_go_with_every_request_and_errors_are_answers(echo: str) -> None:
    visitor = Visitor({"X-Forwarded-For": "203.0.113.5"})
    visitor.ask(f"{echo}/first")
    missing = visitor.answer(f"{echo}/missing")
    assert [headers["X-Forwarded-For"] for _, headers, _ in _Echo.received] == [
        "203.0.113.5", "203.0.113.5"]
    assert (missing.status, missing.body, missing.path) == (404, b"ok", "/missing")
    assert missing.headers["Retry-After"] == "7"


def test_multipart_boundaries_differ_and_the_csrf_token_is_found() -> None:
    first, second = multipart({"a": "1"}, {}), multipart({"a": "1"}, {})
    assert first[1] != second[1]
    page = b'<form><input type="hidden" name="csrfmiddlewaretoken" value="abc123"></form>'
    assert csrf_token(page) == "abc123"
    assert csrf_token(b"<form></form>") is None


def test_random_addresses_are_addresses_and_differ() -> None:
    import ipaddress

    addresses = {random_address() for _ in range(200)}
    assert len(addresses) == 200
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network("10.0.0.0/8") for a in addresses)
