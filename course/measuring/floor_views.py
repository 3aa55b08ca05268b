"""The trivial views a server is measured with, apart from any settings: the floor app serves
them (``course.measuring.floor_app``), and so do graders that serve them through a project's
own entry point (``config.wsgi``) under whatever server the project chose.

``ok`` is the trivial view; ``sleep`` is a request stuck for ``?seconds=S`` (at most 60);
``pid`` names the process that answered, after ``?seconds=S``, to count a server's workers;
``query`` runs a query of ``?seconds=S`` in the project's database (PostgreSQL's
``pg_sleep``) through its own connection settings, and names the process that ran it.
"""

from __future__ import annotations

import os
import time

from django.http import HttpResponse, JsonResponse


def ok(request):
    return HttpResponse(b"ok", content_type="text/plain")


def _wait(request) -> None:
    time.sleep(min(float(request.GET.get("seconds", "0")), 60.0))


def sleep(request):
    _wait(request)
    return HttpResponse(b"woke up", content_type="text/plain")


def pid(request):
    _wait(request)
    return HttpResponse(str(os.getpid()).encode(), content_type="text/plain")


def query(request):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [float(request.GET.get("seconds", "0"))])
    return JsonResponse({"worker": os.getpid()})
