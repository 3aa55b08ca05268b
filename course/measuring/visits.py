"""A first and a repeat visit, the way a browser makes them: requests, bytes, and what its
cache kept.

A page is fetched over real HTTP from a real server, then everything it names
(stylesheets, scripts, icons, images, and the ``url()`` references inside the
stylesheets). A model of a browser's HTTP cache (RFC 9111: ``no-cache`` and
``no-store``, ``max-age``, ``Expires``, the heuristic from ``Last-Modified``,
``ETag`` revalidation) decides what a later visit asks for again::

    from course.measuring import visits
    with visits.serve_production(target) as base:
        rows = visits.first_and_repeat(base, ["/products/"], later=3600)

The graders of chapter 07 read responses through the same functions.
"""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from course import local_secret

YEAR = 365 * 24 * 3600
BROWSER_ENCODINGS = "gzip, deflate, br"  # what Chromium and Firefox send


@dataclass
class Fetched:
    """One real HTTP response: status, headers (names in lower case) and the body's bytes as
    they came over the wire (still compressed, if they were)."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    header_bytes: int = 0

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

    def decoded(self) -> bytes:
        """The body as the server had it, whatever ``Content-Encoding`` it came in."""
        encoding = self.header("Content-Encoding").lower()
        if encoding == "br":
            import brotli

            return brotli.decompress(self.body)
        if encoding == "gzip":
            import gzip

            return gzip.decompress(self.body)
        return self.body

    @property
    def transferred(self) -> int:
        """Bytes on the wire: the header block and the body as sent."""
        return self.header_bytes + len(self.body)


def fetch(url: str, headers: dict[str, str] | None = None, timeout: float = 30) -> Fetched:
    """GET ``url`` exactly as asked: no redirects followed, no encoding added or undone."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
        response = connection.getresponse()
        body = response.read()
        pairs = response.getheaders()
        found = {name.lower(): value for name, value in pairs}
        header_bytes = len(f"HTTP/1.1 {response.status} {response.reason}\r\n") + sum(
            len(name) + len(value) + 4 for name, value in pairs) + 2
        return Fetched(url, response.status, found, body, header_bytes)
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
    if response.header("Expires"):
        expires = _date(response.header("Expires"))
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
    parser.feed(page.decoded().decode("utf-8", "replace"))
    seen: dict[str, str] = {}
    for kind, url in parser.found:
        seen.setdefault(urljoin(page.url, url), kind)
    return [(kind, url) for url, kind in seen.items()]


def css_references(stylesheet: Fetched) -> list[str]:
    """Absolute URLs named by ``url()`` in a stylesheet (data: URIs and fragments left out)."""
    found = []
    for _quote, url in CSS_URL.findall(stylesheet.decoded().decode("utf-8", "replace")):
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


def url_path(url: str) -> str:
    """The path (and query) of a URL, as a person reads it in a message."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# A browser's cache, modelled ---------------------------------------------------------------

@dataclass
class _Kept:
    fresh_until: float
    etag: str
    last_modified: str
    response: Fetched  # the copy kept, as it came


@dataclass
class ModelBrowser:
    """Loads pages as a browser does, with an HTTP cache that follows the response headers.
    ``clock`` is the browser's time in seconds: move it on to make a visit "later"."""

    accept_encoding: str = BROWSER_ENCODINGS
    clock: float = 0.0
    kept: dict[str, _Kept] = field(default_factory=dict)

    def load(self, url: str) -> tuple[str, Fetched | None]:
        """``("cache", None)`` when the browser reuses its copy without asking; otherwise
        ``("200" | "304" | …, response)``."""
        entry = self.kept.get(url)
        if entry and self.clock < entry.fresh_until:
            return "cache", None
        headers = {"Accept-Encoding": self.accept_encoding}
        if entry and entry.etag:
            headers["If-None-Match"] = entry.etag
        elif entry and entry.last_modified:
            headers["If-Modified-Since"] = entry.last_modified
        response = fetch(url, headers)
        if response.status == 200:
            if "no-store" in response.directives():
                self.kept.pop(url, None)
            else:
                self.kept[url] = _Kept(self.clock + freshness(response), response.header("ETag"),
                                       response.header("Last-Modified"), response)
        elif response.status == 304 and entry:
            entry.fresh_until = self.clock + freshness(response)
        return str(response.status), response

    def visit(self, base: str, path: str) -> list[dict[str, Any]]:
        """Load a page and what it names; one row per URL: how it came and what it cost."""
        rows = []
        outcome, page = self.load(base + path)
        rows.append(_row("page", base + path, outcome, page))
        kept_page = self.kept.get(base + path)
        if outcome in ("cache", "304") and kept_page is not None:
            page = kept_page.response  # the browser shows the copy it has
        if page is None or page.status != 200:
            return rows
        for kind, url in subresources(page):
            outcome, response = self.load(url)
            rows.append(_row(kind, url, outcome, response))
            kept = self.kept.get(url)
            if kind == "stylesheet" and kept is not None:  # its copy, fresh or just fetched
                for reference in css_references(kept.response):
                    outcome, response = self.load(reference)
                    rows.append(_row("from a stylesheet", reference, outcome, response))
        return rows


def _row(kind: str, url: str, outcome: str, response: Fetched | None) -> dict[str, Any]:
    return {
        "kind": kind,
        "url": url_path(url),
        "answer": "browser cache" if response is None else outcome,
        "requests": 0 if response is None else 1,
        "bytes": 0 if response is None else response.transferred,
        "encoding": "" if response is None else response.header("Content-Encoding"),
        "cache_control": "" if response is None else response.header("Cache-Control"),
    }


def first_and_repeat(base: str, paths: list[str], *, later: float = 3600
                     ) -> dict[str, list[dict[str, Any]]]:
    """A first visit to ``paths``, then the same visit ``later`` seconds on, by one browser:
    ``{"first": rows, "repeat": rows}``."""
    browser = ModelBrowser()
    first = [row for path in paths for row in browser.visit(base, path)]
    browser.clock += later
    repeat = [row for path in paths for row in browser.visit(base, path)]
    return {"first": first, "repeat": repeat}


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Requests made, bytes transferred, of which static (everything but the pages)."""
    static = [row for row in rows if row["kind"] != "page"]
    return {
        "requests": sum(row["requests"] for row in rows),
        "bytes": sum(row["bytes"] for row in rows),
        "static requests": sum(row["requests"] for row in static),
        "static bytes": sum(row["bytes"] for row in static),
    }


# Serving a project state as production does ------------------------------------------------

def production_settings_env(env: dict[str, str]) -> dict[str, str]:
    """What the production settings ask of the course's own runs of a project with ``env``:
    the settings module, the hosts the course's servers answer as, a secret key (yours if
    you set one), an env file with the services' addresses (the course home's, unless
    ``env`` names one), which a state outside ``.course/`` would not find itself, and that
    they serve plain http on this machine (no proxy in front ends TLS: ``DJANGO_HTTPS``)."""
    from course import paths

    return {"COURSE_ENV_FILE": env.get("COURSE_ENV_FILE") or str(paths.ENV_FILE),
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_HTTPS": "off",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECRET_KEY": local_secret.secret_key()}


def production_env(env: dict[str, str], static_root: Path) -> dict[str, str]:
    """``env`` (a project's, from ``bench.migrated_copy``) with what its production settings
    ask for (:func:`production_settings_env`) and where collected static files go."""
    return {**env, **production_settings_env(env), "STATIC_ROOT": str(static_root)}


def collect_static(target: Path, env: dict[str, str]) -> None:
    """``collectstatic`` for ``target`` into the ``STATIC_ROOT`` of ``env``, as a release
    does before its servers start; a failure raises with its last line."""
    from course.measuring import load

    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=target, env=env, capture_output=True, text=True, check=False)
    if collected.returncode != 0:
        last = (collected.stderr or collected.stdout).strip().splitlines()[-1:]
        raise load.LoadError(f"collectstatic failed: {' '.join(last)}")


@contextmanager
def serve_production(target: Path, *, workers: int = 2, probe_path: str = "/products/",
                     db: str | None = None, database_url: str | None = None,
                     extra_env: dict[str, str] | None = None,
                     access_log: Path | None = None,
                     static_root: Path | None = None) -> Iterator[str]:
    """``collectstatic``, then gunicorn with the production settings, for ``target`` (yours or
    a reference state) on a migrated copy of your data (or on ``database_url``, already
    migrated): yields the base URL. ``extra_env`` adds variables (``STATIC_URL``, a settings
    module that wraps the production settings …); ``access_log`` records every request
    gunicorn answers; ``static_root`` keeps the collected files for the next call with the
    same ``target``, which then serves them without collecting again."""
    from course.measuring import load

    with production_ready(target, db=db, database_url=database_url, extra_env=extra_env,
                          static_root=static_root) as env:
        extra = ["--access-logfile", str(access_log)] if access_log else []
        with load.gunicorn("config.wsgi:application", env, cwd=target, workers=workers,
                           probe_path=probe_path, extra_args=extra) as base:
            yield base


@contextmanager
def production_ready(target: Path, *, db: str | None = None, database_url: str | None = None,
                     extra_env: dict[str, str] | None = None,
                     static_root: Path | None = None) -> Iterator[dict[str, str]]:
    """What a release does before ``target``'s servers start, on a migrated copy of your
    data (or on ``database_url``, already migrated): yields the environment that runs it
    with its production settings, its static files collected (once per ``static_root``)."""
    from course.measuring import bench

    with tempfile.TemporaryDirectory(prefix="course-static-") as scratch, \
            bench.migrated_copy(target, db=db, database_url=database_url) as env:
        folder = static_root or Path(scratch)
        env = {**production_env(env, folder), **(extra_env or {})}
        if not (folder / "staticfiles.json").exists():
            collect_static(target, env)
        yield env


@contextmanager
def serve_behind_cdn(target: Path, *, workers: int = 2, db: str | None = None
                     ) -> Iterator[dict[str, Any]]:
    """``target`` as production serves it, with nginx in front as its CDN, configured by the
    state's own ``deploy/nginx/cdn.conf.template``: yields ``{"app": URL, "cdn": URL,
    "app_log": path of gunicorn's access log}``."""
    from course.services import free_port, nginx

    port = free_port()
    cdn = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="course-cdn-") as tmp:
        app_log = Path(tmp) / "app-access.log"
        with serve_production(target, workers=workers, db=db, access_log=app_log,
                              extra_env={"STATIC_URL": f"{cdn}/static/"}) as app:
            values = {"CDN_PORT": str(port), "APP_ADDRESS": app.removeprefix("http://"),
                      "CACHE_DIR": str(Path(tmp) / "cache")}
            with nginx.running(nginx.templates(target, "cdn"), values, Path(tmp) / "nginx", port,
                               project=target):
                yield {"app": app, "cdn": cdn, "app_log": app_log}


def requests_logged(log: Path, path: str, *, settle: float = 0.0) -> int:
    """How many requests for ``path`` an access log (gunicorn's or nginx's) records. With
    ``settle``, once the count has not moved for that many seconds (at most ten times as
    long): right after a load run, the server is still logging the requests it was
    answering when the clients stopped."""
    def count() -> int:
        text = log.read_text(errors="replace") if log.exists() else ""
        return sum(1 for line in text.splitlines() if f"GET {path} " in line)

    last, since = count(), time.monotonic()
    deadline = since + 10 * settle
    while settle and time.monotonic() - since < settle and time.monotonic() < deadline:
        time.sleep(min(0.1, settle))
        now = count()
        if now != last:
            last, since = now, time.monotonic()
    return last


def compare_visits(states: dict[str, Path], paths: list[str], *, later: float = 3600,
                   report: Any = print) -> Any:
    """Each project state served as production serves it, visited twice by a fresh browser
    (the second time ``later`` seconds on): one row per state, first visit against repeat."""
    from course.measuring.measure import Comparison

    rows = Comparison(sides=("first visit", "repeat visit"))
    for number, (name, target) in enumerate(states.items(), start=1):
        if report:
            report(f"[{number}/{len(states)}] {name}: collectstatic, gunicorn, two visits …")
        with serve_production(target, probe_path=paths[0]) as base:
            visits = first_and_repeat(base, paths, later=later)
        first, repeat = totals(visits["first"]), totals(visits["repeat"])
        failed = [row["url"] for row in visits["first"] if row["answer"] not in ("200", "304")]
        rows.append({
            "name": name,
            "requests_before": first["requests"], "requests_after": repeat["requests"],
            "static_requests_before": first["static requests"],
            "static_requests_after": repeat["static requests"],
            "static_bytes_before": first["static bytes"],
            "static_bytes_after": repeat["static bytes"],
            "page_bytes_before": first["bytes"] - first["static bytes"],
            "page_bytes_after": repeat["bytes"] - repeat["static bytes"],
            "not served": len(failed),
        })
    return rows


def compression(folder: Path, suffixes: tuple[str, ...] = (".css", ".js", ".svg")) -> Any:
    """Every text file under ``folder``: its bytes raw, with gzip (level 9) and with brotli
    (quality 11), as collectstatic writes them. One row per file, raw against brotli."""
    import gzip

    import brotli

    from course.measuring.measure import Comparison

    rows = Comparison(sides=("raw", "brotli"))
    for path in sorted(folder.rglob("*")):
        if path.suffix not in suffixes or not path.is_file():
            continue
        data = path.read_bytes()
        squeezed = len(brotli.compress(data))
        rows.append({"name": str(path.relative_to(folder)), "bytes_before": len(data),
                     "gzip bytes": len(gzip.compress(data, compresslevel=9, mtime=0)),
                     "bytes_after": squeezed,
                     "brotli share": f"{squeezed / len(data):.0%}" if data else "–"})
    return rows
