"""The shop app."""

from django.apps import AppConfig

# TODO(10.3): the request id (10.2) stays in the web process: a task the request sends runs
# in a worker that knows nothing of it, and logs without it.
# TODO(10.4): with DEBUG off nothing logs a slow statement, in a request or in a task: the
# request's line says it was slow, not which query made it so.
# TODO(10.5): a browser's developer tools show the server's time as one bar: nothing says how
# much of it went to the database, to the cache, or elsewhere (a Server-Timing header).
# TODO(10.6): a load balancer asks each instance whether it is alive and whether it is ready
# for traffic; the shop has no answer for either (and would answer its probes 400).
# TODO(10.8): a slow request's line says how long it took; nothing says where the time went
# inside it (which statement, which Redis call, which task it sent), in order, as one trace.


class ShopConfig(AppConfig):
    name = "shop"

    # TODO(05.4): signal receivers connected in ready() work in every process (web, worker,
    # shell); connected by a module that only the views import, they do not.
    # TODO(05.8): the sales report's receivers too.
