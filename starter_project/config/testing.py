"""The test runner behind ``manage.py test``: the shop's tests get in-memory caches of
their own, so they never read or wipe the Redis your running shop uses (``REDIS_URL``)."""

from django.conf import settings
from django.test.runner import DiscoverRunner
from django.test.utils import override_settings


class IsolatedCachesRunner(DiscoverRunner):
    def setup_test_environment(self, **kwargs):
        super().setup_test_environment(**kwargs)
        # TODO(07.1): a template that names a static file that does not exist should fail these
        # tests, not the first production request that renders it.
        self._caches = override_settings(CACHES={
            alias: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                    "LOCATION": f"tests-{alias}"}
            for alias in settings.CACHES
        })
        self._caches.enable()

    def teardown_test_environment(self, **kwargs):
        self._caches.disable()
        super().teardown_test_environment(**kwargs)
