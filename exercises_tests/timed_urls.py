"""The project's URLs, plus ``/course-wait/?seconds=S``: a view that sleeps S seconds (at most
10) and answers a body of a fixed size, whatever S is; and the shared views (see
``course.measuring.floor_views``) ``/course-pid/?seconds=S``, which names the worker
process that answered, and ``/course-query/?seconds=S``, which runs a query of S seconds in
the database through the project's own connection settings (see ``timed_settings``)."""

import time

from django.http import HttpResponse
from django.urls import include, path

from course.measuring.floor_views import pid, query

WAITED_BODY = b"waited as asked.\n"


def wait(request):
    time.sleep(min(float(request.GET.get("seconds", "0")), 10.0))
    return HttpResponse(WAITED_BODY, content_type="text/plain")


urlpatterns = [path("course-wait/", wait), path("course-pid/", pid),
               path("course-query/", query), path("", include("config.urls"))]
