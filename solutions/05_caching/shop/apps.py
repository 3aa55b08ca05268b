"""The shop app; connects its signal receivers when Django starts."""

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"

    def ready(self):
        from . import bestsellers  # noqa: F401 - connects the cache invalidation receivers
