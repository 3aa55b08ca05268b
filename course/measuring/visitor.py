"""A browser, as far as the graders and measurements of chapter 11 need one: it keeps its
cookies (the CSRF cookie, a session, a pin to the primary), follows redirects, and takes an
error status as an answer rather than an exception."""

from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request


class Visitor:
    def __init__(self) -> None:
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def ask(self, url: str, data: dict[str, str] | None = None, *, timeout: float = 30
            ) -> tuple[int, bytes, str]:
        """(status, body, the URL that answered) of a GET, or a POST of ``data``."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, response.read(), response.url
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.url
