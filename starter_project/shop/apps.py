"""The shop app."""

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"

    # TODO(05.4): signal receivers connected in ready() work in every process (web, worker,
    # shell); connected by a module that only the views import, they do not.
    # TODO(05.8): the sales report's receivers too.
