"""The Redis databases the graders own, emptied before use."""

from __future__ import annotations

import pytest


def emptied_redis(url: str | None, what: str):
    """A client for the Redis database at ``url``, emptied; a clear failure without one."""
    import redis

    if not url:
        pytest.fail(f"no address for {what}: run the graders with `python3 -m course check`",
                    pytrace=False)
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError:
        pytest.fail(f"no Redis at {url}: run `python3 -m course services up`", pytrace=False)
    return client
