"""A browser, as far as the graders and measurements of chapter 11 need one: it keeps its
cookies (the CSRF cookie, a session, a pin to the primary), follows redirects, sends a
form's fields and files as a browser would, and takes an error status as an answer rather
than an exception. Cookies are kept per host, not per port: the instances of one shop on
127.0.0.1 share them, as the instances behind one balancer's address do."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import Message

FormValue = str | Sequence[str]


@dataclass(frozen=True)
class Upload:
    """A file in a form: its name, its bytes, its media type."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    url: str  # the URL that answered, after redirects
    headers: Message

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path


def multipart(fields: Mapping[str, FormValue], files: Mapping[str, Upload]
              ) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body of ``fields`` and ``files``, and its Content-Type."""
    boundary = f"course-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields.items():
        for one in [value] if isinstance(value, str) else value:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                         f"\r\n\r\n{one}\r\n".encode())
    for name, upload in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{upload.filename}"\r\nContent-Type: {upload.content_type}'
                     "\r\n\r\n".encode() + upload.content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Visitor:
    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        """``headers`` go with every request (a balancer's X-Forwarded-For, say)."""
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.opener.addheaders = [("User-Agent", "course-visitor"), *(headers or {}).items()]

    def answer(self, url: str, data: Mapping[str, FormValue] | None = None, *,
               files: Mapping[str, Upload] | None = None, timeout: float = 30) -> Answer:
        """The answer to a GET, or a POST of the form ``data`` (with ``files``, if any)."""
        body, headers = None, {}
        if files:
            body, headers["Content-Type"] = multipart(data or {}, files)
        elif data is not None:
            body = urllib.parse.urlencode(data, doseq=True).encode()
        request = urllib.request.Request(url, data=body, headers=headers)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return Answer(response.status, response.read(), response.url, response.headers)
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read(), error.url, error.headers)

    def ask(self, url: str, data: Mapping[str, FormValue] | None = None, *,
            timeout: float = 30) -> tuple[int, bytes, str]:
        """(status, body, the URL that answered) of a GET, or a POST of ``data``."""
        answer = self.answer(url, data, timeout=timeout)
        return answer.status, answer.body, answer.url

    def sign_in(self, base: str, username: str, password: str) -> Answer:
        """Sign in through the admin's sign-in page at ``base``, as a person would: the answer
        (a success lands on /admin/; a wrong password shows the form again)."""
        page = self.answer(f"{base}/admin/login/?next=/admin/")
        token = csrf_token(page.body)
        if page.status != 200 or not token:
            raise AssertionError(f"the admin's sign-in page at {base} answered {page.status}"
                                 + ("" if token else ", with no CSRF token in a form"))
        return self.answer(f"{base}/admin/login/?next=/admin/", {
            "csrfmiddlewaretoken": token, "username": username, "password": password,
            "next": "/admin/"})

    def signed_in(self, base: str) -> bool:
        """Whether the admin at ``base`` knows this visitor (no detour to its sign-in page)."""
        answer = self.answer(f"{base}/admin/")
        return answer.status == 200 and not answer.path.startswith("/admin/login/")


def random_address() -> str:
    """A visitor's address of its own, for an X-Forwarded-For: one of the 16 million in
    10.0.0.0/8, so two visitors of one run (or an earlier run's) practically never share one."""
    number = uuid.uuid4().int
    return f"10.{number % 256}.{number // 256 % 256}.{number // 65536 % 254 + 1}"


def csrf_token(page: bytes) -> str | None:
    """The CSRF token a page's form carries."""
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    return found[1].decode() if found else None
