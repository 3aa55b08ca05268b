"""The project's URLs, plus ``/course-wait/?seconds=S``: a view that sleeps S seconds (at most
10) and answers a body of a fixed size, whatever S is; and the shared views (see
``course.measuring.floor_views``) ``/course-pid/?seconds=S``, which names the worker
process that answered, and ``/course-query/?seconds=S``, which runs a query of S seconds in
the database through the project's own connection settings (see ``timed_settings``); and
``/course-queries/?n=N``, which runs exactly N small queries (at most 50); and
``/course-task/?label=L``, which sends the graders' own Celery task (``grading_tasks``; with
``slow=S``, one that runs a statement of S seconds); and
``/course-slow-query/?seconds=S``, one statement that takes S seconds (at most 5) on SQLite
and on PostgreSQL, its measured time in ``X-Query-Ms``; and ``/course-cache/?kb=K&times=N``,
which stores K KiB in the project's cache and reads them back N times, the time those calls
took in ``X-Cache-Ms``; and ``/course-error/?label=L``, a view that fails (GET or POST,
with the signed-in customer's email in a local variable, as a real view's locals hold what
it works on), and ``/course-log-error/?label=L``, one that logs an error and answers 200
(``/course-task/?fail=L`` sends a task that fails in the worker); and ``/course-ok/``, the
trivial view that answers "ok", and ``/course-frame/``, the shop's frame (``base.html``) with
nothing in it, beside the shop's pages in one URLconf."""

import logging
import os
import time

from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from course.measuring.floor_views import ok, pid, query

WAITED_BODY = b"waited as asked.\n"


def wait(request):
    time.sleep(min(float(request.GET.get("seconds", "0")), 10.0))
    return HttpResponse(WAITED_BODY, content_type="text/plain")


def queries(request):
    count = min(int(request.GET.get("n", "0")), 50)
    with connection.cursor() as cursor:
        for _ in range(count):
            cursor.execute("SELECT 1")
    return HttpResponse(f"ran {count} queries.\n", content_type="text/plain")


def slow_query(request):
    from grading_tasks import run_slow_query

    took = run_slow_query(min(float(request.GET.get("seconds", "0")), 5.0))
    response = HttpResponse(b"slow.\n", content_type="text/plain")
    response["X-Query-Ms"] = f"{took:.1f}"
    return response


def cache_calls(request):
    from django.core.cache import cache

    size = min(int(request.GET.get("kb", "1")), 8192) * 1024
    times = min(int(request.GET.get("times", "1")), 50)
    value = os.urandom(size)  # random: nothing along the way can compress it
    started = time.perf_counter()
    cache.set("course-cache-probe", value, 60)
    for _ in range(times):
        cache.get("course-cache-probe")
    took = (time.perf_counter() - started) * 1000
    response = HttpResponse(b"cached.\n", content_type="text/plain")
    response["X-Cache-Ms"] = f"{took:.1f}"
    return response


@csrf_exempt  # a grader posts a form as a signed-in customer, without the page's token
def failing(request):
    customer_email = request.user.email if request.user.is_authenticated else ""
    delivery = request.POST.get("address", "")
    raise RuntimeError(f"course error {request.GET.get('label', '')} "
                       f"({len(customer_email)}, {len(delivery)})")


def logs_an_error(request):
    logging.getLogger("shop.orders").error("course logged error %s", request.GET.get("label", ""))
    return HttpResponse(b"logged.\n", content_type="text/plain")


def task(request):
    from grading_tasks import fail_in_a_task, log_from_a_task, slow_query_task

    if "slow" in request.GET:
        slow_query_task.delay(min(float(request.GET["slow"]), 5.0))
    elif "fail" in request.GET:
        fail_in_a_task.delay(request.GET["fail"])
    else:
        log_from_a_task.delay(request.GET.get("label", ""))
    return HttpResponse(b"sent.\n", content_type="text/plain")


def frame(request):
    return render(request, "base.html")


urlpatterns = [path("course-frame/", frame), path("course-wait/", wait), path("course-task/", task),
               path("course-error/", failing), path("course-log-error/", logs_an_error),
               path("course-slow-query/", slow_query),
               path("course-cache/", cache_calls), path("course-pid/", pid),
               path("course-query/", query), path("course-queries/", queries),
               path("course-ok/", ok),
               path("", include("config.urls"))]
