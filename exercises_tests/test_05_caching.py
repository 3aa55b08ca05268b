"""Chapter 05 — Caching with a real Redis: graders.

Everything runs against the course's Redis, database 15 (``REDIS_URL`` in the
graders' environment), which each test empties first: the learner's own cache
and sessions in database 0 are never touched. These tests use the project's
cache settings as they are (``real_cache``).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from course.measure import queries_for

pytestmark = [pytest.mark.django_db, pytest.mark.real_cache]

CACHE_PROBE = """
from django.core.cache import caches
cache = caches["default"]
cache.set("course-probe", "written by the grader")
report(backend=f"{type(cache).__module__}.{type(cache).__name__}",
       key=cache.make_key("course-probe"), value=cache.get("course-probe"),
       timeout=cache.default_timeout)
"""


def test_05_1_redis_cache_from_the_environment(project, redis_db, measured):
    results = {}
    for settings in ("config.settings.dev", "config.settings.production"):
        redis_db.flushdb()
        probe = project.probe(settings, CACHE_PROBE)
        results[settings] = probe
        where = f"under {settings}"
        assert probe["value"] == "written by the grader", (
            f"{where} the cache does not give back what was stored ({probe['backend']})"
        )
        key = probe["key"].encode()
        assert redis_db.exists(key), (
            f"{where} the cache ({probe['backend']}) stored nothing in the Redis at REDIS_URL: "
            "read the address from the environment, not a fixed one"
        )
        assert probe["key"] != ":1:course-probe", (
            f"{where} keys have no prefix: set KEY_PREFIX so several sites can share one Redis"
        )
        ttl = redis_db.ttl(key)
        assert 0 < ttl <= 24 * 3600, (
            f"{where} a key stored without a timeout lives {'forever' if ttl < 0 else f'{ttl} s'}"
            ": give the cache a default TIMEOUT of at most a day"
        )
    production = results["config.settings.production"]
    measured(f"{production['backend'].rsplit('.', 1)[-1]}, key {production['key']}, "
             f"TTL {production['timeout']} s", target="keys in the course's Redis")


def _signed_in(django_user_model, name: str) -> Client:
    user = django_user_model.objects.create_user(username=name, password=None)
    browser = Client()
    browser.force_login(user)
    return browser


def test_05_2_cached_product_list(shop, redis_db, django_user_model, measured):
    shop("tiny")
    url = reverse("shop:product_list")
    anonymous = Client()
    responses, counts = [], []
    for _ in range(2):
        holder = {}
        count, _ = queries_for(lambda holder=holder: holder.update(r=anonymous.get(url)))
        responses.append(holder["r"])
        counts.append(count)
    first, second = responses
    assert first.status_code == second.status_code == 200
    measured(f"{counts[0]} → {counts[1]}", target="0 queries for the second anonymous request",
             unit="queries")
    assert first.content == second.content, "the cached page differs from the page it caches"
    assert counts[1] == 0, (
        f"the second anonymous request ran {counts[1]} queries: cache the page, and the "
        "count ShopStatusMiddleware makes on every request"
    )
    vary = {part.strip().lower() for part in second.get("Vary", "").split(",")}
    assert "cookie" in vary, (
        "the product list shows who is signed in, so its response must say `Vary: Cookie`"
    )
    alice = _signed_in(django_user_model, "alice-grader")
    bob = _signed_in(django_user_model, "bob-grader")
    for _ in range(2):  # the second round is served from the cache, if anything is
        alice_page = alice.get(url).content.decode()
        bob_page = bob.get(url).content.decode()
        anonymous_page = anonymous.get(url).content.decode()
        assert "alice-grader" in alice_page, "Alice's page does not show that she is signed in"
        assert "alice-grader" not in bob_page, "Bob was served Alice's page"
        assert "bob-grader" in bob_page, "Bob's page does not show that he is signed in"
        assert "grader" not in anonymous_page, "an anonymous visitor was served a customer's page"


SESSION_PROBE = """
from importlib import import_module
from django.conf import settings
store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=%r)
report(user_id=store.get("_auth_user_id"), engine=settings.SESSION_ENGINE)
"""


def test_05_6_sessions_in_redis(client, shop, redis_db, django_user_model, project, measured):
    shop("tiny")
    user = django_user_model.objects.create_user(username="carol-grader", password=None)
    client.force_login(user)
    session_key = client.cookies["sessionid"].value
    url = reverse("shop:order_list")
    client.get(url)  # the first read may fill the cache
    count, statements = queries_for(lambda: client.get(url))
    from_database = [sql for sql in statements if "django_session" in sql]
    measured(f"{len(from_database)} session queries", target="0: sessions read from Redis")
    assert not from_database, (
        f"a signed-in request still reads its session from the database: {from_database[0][:120]}"
    )
    in_redis = [key for key in redis_db.keys("*") if session_key.encode() in key]
    assert in_redis, "the session is not in Redis"
    probe = project.probe("grading_settings", SESSION_PROBE % session_key)
    assert str(probe["user_id"]) == str(user.pk), (
        "another app server (a separate process) cannot read the session: it must live in "
        f"Redis, shared by every process (SESSION_ENGINE is {probe['engine']})"
    )
