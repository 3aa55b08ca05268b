"""The floor: a Django project with one trivial view and no middleware, database or templates.

Served by gunicorn next to the shop (``course.measuring.load``), it measures what Django and
the app server cost by themselves: no cached page can be faster than this. ``/sleep/?seconds=S``
is a request stuck for S seconds (at most 60), for what app servers do about one
(``course.measuring.appservers``), and ``/pid/`` names the worker process that answered.
``application`` is the WSGI entry point and ``asgi_application`` the ASGI one, so servers of
both kinds serve the same views.
"""

from __future__ import annotations

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="floor-only-" + "x" * 40,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATABASES={},
    )

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402

from course.measuring.floor_views import ok, pid, sleep  # noqa: E402

urlpatterns = [path("", ok), path("sleep/", sleep), path("pid/", pid)]

application = get_wsgi_application()
asgi_application = get_asgi_application()
