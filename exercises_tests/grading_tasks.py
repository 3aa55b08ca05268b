"""Tasks of the graders' own: one logs a line from inside a Celery worker, so a grader can read
which request, if any, the worker says it ran for (10.3); one runs a slow statement there
(10.4); one fails, for the error tracker to hear of it (10.7)."""

import logging
import time

from celery import shared_task

TASK_LINE = "a task the grader sent ran"


@shared_task
def log_from_a_task(label=""):
    logging.getLogger("grading.task").warning("%s (%s)", TASK_LINE, label)
    return label


def run_slow_query(seconds: float) -> float:
    """One statement that takes ``seconds`` in the database, on SQLite (a function of the
    connection's own that sleeps) or PostgreSQL (``pg_sleep``): its time, in ms."""
    from django.db import connection

    connection.ensure_connection()
    if connection.vendor == "sqlite":
        connection.connection.create_function("course_sleep", 1, time.sleep)
        sql = "SELECT course_sleep(%s)"
    else:
        sql = "SELECT pg_sleep(%s)"
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, [seconds])
    return (time.perf_counter() - started) * 1000


@shared_task
def slow_query_task(seconds=0.3):
    return run_slow_query(seconds)


@shared_task
def fail_in_a_task(label=""):
    raise RuntimeError(f"course task error {label}")
