"""The project's URLs, plus ``/course-wait/?seconds=S``: a view that sleeps S seconds (at most
10) and answers a body of a fixed size, whatever S is; ``/course-pid/?seconds=S``, which
names the worker process that answered; and ``/course-query/?seconds=S``, which runs a
query of S seconds in the database (PostgreSQL's ``pg_sleep``) through the project's own
connection settings and names the worker process that ran it (see ``timed_settings``)."""

import os
import time

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import include, path

from course.measuring.floor_views import pid

WAITED_BODY = b"waited as asked.\n"


def wait(request):
    time.sleep(min(float(request.GET.get("seconds", "0")), 10.0))
    return HttpResponse(WAITED_BODY, content_type="text/plain")


def query(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [float(request.GET.get("seconds", "0"))])
    return JsonResponse({"worker": os.getpid()})


urlpatterns = [path("course-wait/", wait), path("course-pid/", pid),
               path("course-query/", query), path("", include("config.urls"))]
