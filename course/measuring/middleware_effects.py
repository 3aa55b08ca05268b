"""What the middleware and the caching around it do to the shop's pages (chapter 09),
measured for a project state under its production settings::

    from course import middleware_effects as effects
    effects.languages(project)       # pages cache_page built for six browser languages
    effects.polls(project)           # an API poll with and without its ETag
    effects.page_cache(project)      # whole-page caching set up three ways, who sees what
    effects.count_views(project, pages)  # the page-view count under two worker processes
    effects.round_trips(project)     # what a visitor's cached page still sends to Redis

The first three run in a process of their own on a migrated scratch copy of your data (with
a Redis database of their own), through Django's test client; ``count_views`` serves the
project with gunicorn and sends real requests from several clients at once.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from course.measuring import bench, visits

MARK = "@@course-middleware-effects@@"
PRODUCTION = "config.settings.production"
API_PATH = "/api/products/?page_size=100"
# What six browsers might send: a cache that varies on Accept-Language keeps six copies.
LANGUAGES = ["en-US,en;q=0.9", "en-GB,en;q=0.9", "en", "fr-FR,fr;q=0.9,en;q=0.8",
             "de-DE,de;q=0.9,en;q=0.8", "nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7"]
UPDATE = "django.middleware.cache.UpdateCacheMiddleware"
FETCH = "django.middleware.cache.FetchFromCacheMiddleware"


def _run(target: Path, probe: str, **options: Any) -> list[dict[str, Any]]:
    with bench.migrated_copy(Path(target)) as env:
        env.update(visits.production_settings_env(env))
        command = [sys.executable, "-m", "course.measuring.middleware_effects", "--target",
                   str(target), "--probe", probe, "--options", json.dumps(options)]
        return json.loads(bench.run_child(command, env, f"{probe} for {target}", MARK))


def languages(target: Path) -> list[dict[str, Any]]:
    """The product list asked for by six browsers with six Accept-Language strings, the
    cache emptied first: which requests built the page (ran queries) and which were served
    from cache_page."""
    return _run(target, "languages")


def polls(target: Path, *, repeat: int = 30) -> list[dict[str, Any]]:
    """The catalogue API polled ``repeat`` times without a validator and ``repeat`` times with
    the ETag (or Last-Modified) of its last answer: status, queries, bytes, median ms."""
    return _run(target, "polls", repeat=repeat)


def page_cache(target: Path) -> list[dict[str, Any]]:
    """A product page with whole-page caching set up three ways: the project as it is, and
    Django's site-wide cache pair appended at the end of MIDDLEWARE or put around it. For
    each: does a visitor after a signed-in customer get that customer's page, does a
    customer after a visitor get their own, queries of a visitor's repeat, and how long
    browsers may keep the page."""
    return _run(target, "page_cache")


def round_trips(target: Path, path: str = "/products/") -> dict[str, Any]:
    """A visitor's ``path``, asked for three times (the last surely cached): the writes to
    Redis the last one made, each waiting for a reply (a pipeline's commands go in one), and
    the commands in them."""
    return _run(target, "round_trips", path=path)  # type: ignore[return-value]


# Counting under real worker processes --------------------------------------------------------


def count_views(target: Path, paths: list[str], *, requests: int = 400, clients: int = 8,
                workers: int = 2) -> dict[str, Any]:
    """Serve ``target`` with gunicorn (``workers`` processes), send ``requests`` requests to
    ``paths`` in turn from ``clients`` clients at once, and compare what X-Page-Views says
    with what was sent. Every page is counted, so cheap ones (a product's page) keep this
    quick on a project whose catalogue is still slow."""
    from course.measuring.visits import fetch, serve_production

    def number(base: str, path: str) -> int | None:
        value = fetch(base + path, timeout=30).header("X-Page-Views")
        return int(value) if value.strip().isdigit() else None

    with serve_production(Path(target), workers=workers) as base:
        before = number(base, paths[0])
        with ThreadPoolExecutor(clients) as pool:
            numbers = list(pool.map(lambda n: number(base, paths[n % len(paths)]),
                                    range(requests)))
        after = number(base, paths[0])
    shown = [n for n in numbers if n is not None]
    repeated = sum(times - 1 for times in Counter(shown).values() if times > 1)
    counted = (after - before - 1) if before is not None and after is not None else None
    return {"sent": requests, "counted": counted,
            "lost": None if counted is None else requests - counted,
            "numbers shown twice": repeated}


# The child process ------------------------------------------------------------------------


def _host() -> str:
    from django.conf import settings

    hosts = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith((".", "*"))]
    return hosts[0] if hosts else "localhost"


def _client() -> Any:
    from django.test import Client

    return Client(HTTP_HOST=_host(), raise_request_exception=False)


def _counting(function: Any) -> tuple[Any, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        result = function()
    return result, len(queries)


def _languages_probe() -> list[dict[str, Any]]:
    from django.core.cache import cache

    cache.clear()
    rows = []
    for language in LANGUAGES:
        response, queries = _counting(
            lambda language=language: _client().get("/products/",
                                                    HTTP_ACCEPT_LANGUAGE=language))
        rows.append({"Accept-Language": language, "status": response.status_code,
                     "queries": queries, "built": queries > 0,
                     "Vary": response.get("Vary", "")})
    return rows


def _polls_probe(repeat: int) -> list[dict[str, Any]]:
    client = _client()
    first = client.get(API_PATH)
    headers = {}
    if first.get("ETag"):
        headers["If-None-Match"] = first["ETag"]
    elif first.get("Last-Modified"):
        headers["If-Modified-Since"] = first["Last-Modified"]
    rows = []
    for label, sent in (("without a validator", {}), ("with the last answer's", headers)):
        times, last, queries = [], None, 0
        for _ in range(repeat):
            started = time.perf_counter()
            last, queries = _counting(lambda sent=sent: client.get(API_PATH, headers=sent))
            times.append((time.perf_counter() - started) * 1000)
        rows.append({"poll": label, "status": last.status_code, "queries": queries,
                     "bytes": len(last.content), "median_ms": round(statistics.median(times), 2)})
    return rows


def _kept_seconds(response: Any) -> int:
    from django.utils.cache import get_max_age

    directives = response.get("Cache-Control", "")
    if "no-cache" in directives or "no-store" in directives:
        return 0
    return get_max_age(response) or 0


def _page_cache_probe() -> list[dict[str, Any]]:
    from django.conf import settings
    from django.core.cache import cache
    from django.test.utils import override_settings
    from shop.models import Customer, Product

    slug = (Product.objects.filter(is_active=True).order_by("pk")
            .values_list("slug", flat=True).first())
    path = f"/products/{slug}/"
    first, second = Customer.objects.select_related("user").order_by("pk")[:2]
    stack = [m for m in settings.MIDDLEWARE if m not in (UPDATE, FETCH)]
    setups = {
        "as it is": list(settings.MIDDLEWARE),
        "site-wide pair at the end": [*stack, UPDATE, FETCH],
        "site-wide pair around the stack": [UPDATE, *stack, FETCH],
    }

    def signed_in(customer: Any) -> Any:
        client = _client()
        client.force_login(customer.user)
        return client

    rows = []
    for name, middleware in setups.items():
        with override_settings(MIDDLEWARE=middleware, CACHE_MIDDLEWARE_SECONDS=60):
            cache.clear()
            signed_in(first).get(path)
            after_customer = _client().get(path).content.decode()
            cache.clear()
            visitor = _client().get(path)
            _again, queries = _counting(lambda: _client().get(path))
            customer_after = signed_in(second).get(path).content.decode()
        rows.append({
            "setup": name,
            "visitor sees a customer's page": first.user.get_username() in after_customer,
            "customer sees their own page": second.user.get_username() in customer_after,
            "visitor repeat queries": queries,
            "browsers keep (s)": _kept_seconds(visitor),
        })
    return rows


def _round_trips_probe(path: str) -> dict[str, Any]:
    import redis.connection
    from django.core.cache import cache

    writes: list[Any] = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> Any:
        writes.append(command)
        return send(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
    cache.clear()
    for _ in range(3):
        writes.clear()
        response = _client().get(path)  # a new visitor each time: no cookies
    sent = commands_in(writes)
    return {"status": response.status_code, "round_trips": len(writes),
            "commands": ", ".join(f"{name} ×{times}" if times > 1 else name
                                  for name, times in sorted(sent.items()))}


def commands_in(writes: list[Any]) -> Counter[str]:
    """The Redis commands in what redis-py wrote (each write: bytes, or a list of chunks; a
    pipeline's commands come in one). RESP sends a command as ``*<count>``, then each part as
    ``$<length>`` and its bytes, the command's name first."""
    sent: Counter[str] = Counter()
    for write in writes:
        data = b"".join(bytes(part) for part in ([write] if isinstance(write, bytes) else write))
        sent.update(name.decode().upper()
                    for name in re.findall(rb"\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n", data))
    return sent


PROBES = {"languages": _languages_probe, "polls": _polls_probe, "page_cache": _page_cache_probe,
          "round_trips": _round_trips_probe}


def _child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m course.measuring.middleware_effects")
    parser.add_argument("--target", type=Path, required=True)
    parser.add_argument("--probe", choices=list(PROBES), required=True)
    parser.add_argument("--options", default="{}")
    args = parser.parse_args(argv)
    from course.project.runtime import configure

    configure(args.target, settings=PRODUCTION)
    from django.conf import settings

    # The pages name their static files as they are: no collectstatic, no manifest to read.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    print(MARK + json.dumps(PROBES[args.probe](**json.loads(args.options)), default=str))


if __name__ == "__main__":
    _child(sys.argv[1:])
