"""The audit's sign-in measurement, against stand-in sign-in pages: a limit kept per
instance lets a guesser try once per instance; a shared one stops them at the allowance."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from course.measuring import shared_state

FORM = b'<form><input type="hidden" name="csrfmiddlewaretoken" value="t0k3n"></form>'


def _handler(failures: dict[str, int], allowed: int) -> type[BaseHTTPRequestHandler]:
    class SignIn(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._send(200, FORM)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            address = self.headers["X-Forwarded-For"]
            if failures.get(address, 0) >= allowed:
                self._send(429, b"refused")
                return
            failures[address] = failures.get(address, 0) + 1
            self._send(200, FORM)

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return SignIn


@contextmanager
def _instances(counts: list[dict[str, int]], allowed: int) -> Iterator[list[str]]:
    with ExitStack() as stack:
        bases = []
        for failures in counts:
            server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(failures, allowed))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            stack.callback(server.server_close)
            stack.callback(server.shutdown)
            bases.append(f"http://127.0.0.1:{server.server_address[1]}")
        yield bases


def test_a_limit_per_instance_is_the_allowance_once_per_instance() -> None:
    with _instances([{}, {}], allowed=3) as bases:
        assert shared_state.wrong_passwords_tried(bases, "keeper", most=20) == 6


def test_a_shared_limit_stops_the_guesser_at_the_allowance() -> None:
    shared: dict[str, int] = {}
    with _instances([shared, shared], allowed=3) as bases:
        assert shared_state.wrong_passwords_tried(bases, "keeper", most=20) == 3


def test_the_count_stops_at_most() -> None:
    with _instances([{}], allowed=50) as bases:
        assert shared_state.wrong_passwords_tried(bases, "keeper", most=4) == 4
