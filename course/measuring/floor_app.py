"""The floor: a Django project with one trivial view and no middleware, database or templates.

Served by gunicorn next to the shop (``course.measuring.load``), it measures what Django and
the app server cost by themselves: no cached page can be faster than this. ``/sleep/?seconds=S``
is a request stuck for S seconds (at most 60), for what app servers do about one
(``course.measuring.appservers``).
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

import time  # noqa: E402

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402


def ok(request):
    return HttpResponse(b"ok", content_type="text/plain")


def sleep(request):
    time.sleep(min(float(request.GET.get("seconds", "1")), 60.0))
    return HttpResponse(b"woke up", content_type="text/plain")


urlpatterns = [path("", ok), path("sleep/", sleep)]

application = get_wsgi_application()
