"""How close a cached page comes to the floor, the trivial view (exercise 09.5)::

    from course import floor
    floor.against_floor({"yours": project, "reference": reference})  # req/s, pairs
    floor.round_trips({"yours": project, "reference": reference})    # Redis, per answer
    floor.client_cost()                                              # µs per cache.get
    floor.behind_microcache(reference)  # nginx keeping the page a second, against the floor

``against_floor`` serves each project state twice from its own Procfile's web line (the
server it chose in 08.4, gunicorn before that): once with the trivial view behind only the
layers every request passes before the visitor's session is read (the floor: security
headers, static files, later the monitoring of chapter 10), once as production serves it;
both stay up, and locust loads one then the other, in pairs, so a burst of work elsewhere on
the machine hits one pair, not the ratio.
``round_trips`` asks for a visitor's cached page in a process of its own and counts the
writes to Redis it makes, each a round trip waiting for a reply. ``client_cost`` times, in
this process, what one ``cache.get`` costs through Django's Redis backend, against the same
GET on one redis-py client kept for every call. ``behind_microcache`` puts nginx in front of
the page's server, keeping an anonymous visitor's page for a second, and loads it against the
floor the same way, counting the visits that reached Django.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from course import services
from course.measuring import bench, load, procfile, visits

MICROCACHE = Path(__file__).with_name("microcache.conf.template")
FLOOR_SETTINGS = "outer_floor_settings"  # exercises_tests/: the trivial view, outer layers
BARE_FLOOR_SETTINGS = "floor_settings"  # exercises_tests/: the trivial view, no middleware


@contextmanager
def _served(target: Path, sides: dict[str, tuple[str | None, str]], workers: int,
            scratch: Path) -> Iterator[dict[str, str]]:
    """``target`` served once per side from its Procfile, all on one migrated copy of your
    data: each side names its settings module (None: production) and the path that must
    answer before it counts as started. Yields each side's base URL."""
    with bench.migrated_copy(target) as env, ExitStack() as servers:
        env = visits.production_env(env, scratch)
        visits.collect_static(target, env)
        bases = {}
        for side, (settings, probe) in sides.items():
            side_env = {**env, "DJANGO_SETTINGS_MODULE": settings} if settings else env
            bases[side], _ = servers.enter_context(procfile.serve(
                target, side_env, workers=workers, probe_path=probe))
        yield bases


def in_pairs(sides: dict[str, tuple[str, str]], pairs: int, *, users: int, seconds: int
             ) -> dict[str, list[dict[str, Any]]]:
    """Locust on each side's (base URL, path) in turn, ``pairs`` times, in the other order
    every other time: each side's runs, pair by pair (see :func:`paired`)."""
    found: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    for pair in range(pairs):
        order = list(sides.items())
        for side, (base, path) in order if pair % 2 == 0 else reversed(order):
            found[side].append(load.locust(base, path, users=users, seconds=seconds))
    return found


def against_floor(targets: dict[str, Path], path: str = "/products/", *, pairs: int = 3,
                  users: int = 16, seconds: int = 3, workers: int = 2) -> list[dict[str, Any]]:
    """For each project state, ``path`` and the trivial view under the same server: the
    median requests per second of each, and the median of the pairs' ratios."""
    rows = []
    for name, target in targets.items():
        print(f"  {name}: serving the floor and {path} from its Procfile, {pairs} pairs of "
              f"{load.run_seconds(seconds)} s runs …", flush=True)
        with tempfile.TemporaryDirectory(prefix="course-floor-") as scratch, \
                _served(Path(target), {"floor": (FLOOR_SETTINGS, "/"), "page": (None, path)},
                        workers, Path(scratch)) as bases:
            found = in_pairs({"floor": (bases["floor"], "/"), "page": (bases["page"], path)},
                             pairs, users=users, seconds=seconds)
            print(f"  {name}: {[run['req_per_s'] for run in found['page']]} req/s against "
                  f"{[run['req_per_s'] for run in found['floor']]}", flush=True)
        rows.append({"name": name, "server": procfile.program(Path(target)),
                     **paired(found["page"], found["floor"])})
    return rows


def outer_layers(targets: dict[str, Path], *, pairs: int = 3, users: int = 16,
                 seconds: int = 3, workers: int = 2) -> list[dict[str, Any]]:
    """For each project state, the floor (the trivial view behind the layers every request
    passes before the visitor's session is read) against the same view with no middleware at
    all, side by side under its own server: what those layers cost the cheapest request."""
    rows = []
    for name, target in targets.items():
        print(f"  {name}: the trivial view with and without its outer layers, {pairs} pairs "
              f"of {load.run_seconds(seconds)} s runs …", flush=True)
        with tempfile.TemporaryDirectory(prefix="course-floor-") as scratch, \
                _served(Path(target), {"layers": (FLOOR_SETTINGS, "/"),
                                       "bare": (BARE_FLOOR_SETTINGS, "/")},
                        workers, Path(scratch)) as bases:
            found = in_pairs({side: (base, "/") for side, base in bases.items()}, pairs,
                             users=users, seconds=seconds)
        compared = paired(found["layers"], found["bare"])
        rows.append({"name": name, "with_layers_req_per_s": compared["page_req_per_s"],
                     "bare_req_per_s": compared["floor_req_per_s"],
                     "with_vs_bare": compared["vs_floor"]})
    return rows


def behind_microcache(target: Path, path: str = "/products/", *, pairs: int = 3,
                      users: int = 16, seconds: int = 3, workers: int = 2) -> dict[str, Any]:
    """``path`` through nginx keeping it a second (``microcache.conf.template``), against the
    trivial view served by the project's own server, in pairs; with how many of the visits
    reached Django (its page-view count) and nginx's verdict on each visit (HIT, MISS …)."""
    from course.measuring.visits import fetch
    from course.services import nginx

    def views(base: str) -> int | None:
        value = fetch(base + "/api/products/", timeout=30).header("X-Page-Views").strip()
        return int(value) if value.isdigit() else None

    with tempfile.TemporaryDirectory(prefix="course-microcache-") as scratch, \
            _served(Path(target), {"floor": (FLOOR_SETTINGS, "/"), "page": (None, path)},
                    workers, Path(scratch) / "static") as bases:
        floor, page = bases["floor"], bases["page"]
        port = services.free_port()
        values = {"CACHE_PORT": str(port), "APP_ADDRESS": page.removeprefix("http://"),
                  "CACHE_DIR": str(Path(scratch) / "cache")}
        with nginx.running([MICROCACHE], values, Path(scratch) / "nginx", port,
                           project=Path(target)) as folder:
            cached = f"http://127.0.0.1:{port}"
            before = views(page)
            found = in_pairs({"floor": (floor, "/"), "page": (cached, path)}, pairs,
                             users=users, seconds=seconds)
            after = views(page)
            statuses = [match.group(1) for line in nginx.access_log(folder)
                        if (match := re.search(r"cache=(\S*)", line)) and path in line]
    return {"name": "behind nginx, kept 1 s", **paired(found["page"], found["floor"]),
            "visits": len(statuses),
            "reached_django": None if before is None or after is None else after - before - 1,
            "nginx_verdicts": {name or "-": statuses.count(name) for name in sorted(set(statuses))}}


def paired(page: list[dict[str, Any]], floor: list[dict[str, Any]]) -> dict[str, Any]:
    """Locust runs of a page and of the floor, taken in pairs: the medians of each side, and
    the median of the pairs' ratios (each pair ran a few seconds apart, so a burst of other
    work on the machine moves one ratio, not the median)."""
    ratios = [page_run["req_per_s"] / floor_run["req_per_s"]
              for page_run, floor_run in zip(page, floor, strict=True) if floor_run["req_per_s"]]
    return {
        "page_req_per_s": statistics.median(run["req_per_s"] for run in page),
        "floor_req_per_s": statistics.median(run["req_per_s"] for run in floor),
        "vs_floor": round(statistics.median(ratios), 2) if ratios else None,
        "page_p95_ms": statistics.median(run["p95_ms"] or 0 for run in page),
        "failures": sum(run["failures"] for run in page),
    }


def round_trips(targets: dict[str, Path], path: str = "/products/") -> list[dict[str, Any]]:
    """For each project state: the writes to Redis (each a round trip) and the commands a
    visitor's ``path`` sends once it is cached, under the production settings."""
    from course.measuring import middleware_effects

    rows = []
    for name, target in targets.items():
        found = middleware_effects.round_trips(Path(target), path)
        rows.append({"name": name, **found})
    return rows


def client_cost(*, calls: int = 2000, rounds: int = 7) -> list[dict[str, Any]]:
    """Median µs per call, in this process, of a GET through Django's Redis cache backend,
    of the same GET on one redis-py client kept for every call, and of making a redis-py
    client on the backend's connection pool (what the backend does for every operation)."""
    import redis
    from django.core.cache.backends.redis import RedisCache

    url = services.redis_url(bench.BENCH_REDIS_DB)
    if not url:
        raise load.LoadError("no Redis: start the course's services (`course services up`)")
    backend = RedisCache(url, {"KEY_PREFIX": "course-floor"})
    backend.set("probe", b"x" * 100)
    key = backend.make_and_validate_key("probe")
    kept = redis.Redis.from_url(url)
    pool = backend._cache._get_connection_pool(False)

    def per_call(function: Any) -> float:
        timings = []
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(calls):
                function()
            timings.append((time.perf_counter() - started) / calls * 1e6)
        return round(statistics.median(timings), 1)

    rows = [
        {"name": "cache.get (Django's Redis backend)", "us": per_call(lambda: backend.get("probe"))},
        {"name": "GET on one redis-py client, kept", "us": per_call(lambda: kept.get(key))},
        {"name": "making a redis-py client, no command",
         "us": per_call(lambda: redis.Redis(connection_pool=pool))},
    ]
    backend.delete("probe")
    return rows
