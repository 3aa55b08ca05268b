"""The shop app."""

from django.apps import AppConfig

# TODO(10.3): the request id (10.2) stays in the web process: a task the request sends runs
# in a worker that knows nothing of it, and logs without it.


class ShopConfig(AppConfig):
    name = "shop"

    # TODO(05.4): signal receivers connected in ready() work in every process (web, worker,
    # shell); connected by a module that only the views import, they do not.
    # TODO(05.8): the sales report's receivers too.
