"""A Redis cache that degrades to "no cache" while Redis is unreachable.

Django's RedisCache raises as soon as Redis is down, which turns every page
that touches the cache (cached pages, sessions, the header's counts) into a
500. Here each operation that fails is logged and answered like a cache miss:
the site gets slower, not broken, and the logs say why.
"""

import logging

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger("shop.cache")


class ForgivingRedisCache(RedisCache):
    def _or_miss(self, operation, miss, *args, **kwargs):
        try:
            return getattr(super(), operation)(*args, **kwargs)
        except RedisError as error:
            logger.warning("cache %s failed, serving without the cache: %s", operation, error)
            return miss

    def get(self, key, default=None, version=None):
        return self._or_miss("get", default, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._or_miss("set", None, key, value, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._or_miss("add", False, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._or_miss("touch", False, key, timeout, version)

    def delete(self, key, version=None):
        return self._or_miss("delete", False, key, version)

    def get_many(self, keys, version=None):
        return self._or_miss("get_many", {}, keys, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._or_miss("set_many", list(data), data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._or_miss("delete_many", None, keys, version)

    def has_key(self, key, version=None):
        return self._or_miss("has_key", False, key, version)

    def incr(self, key, delta=1, version=None):
        return self._or_miss("incr", delta, key, delta, version)

    def clear(self):
        return self._or_miss("clear", None)
