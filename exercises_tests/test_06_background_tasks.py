"""Chapter 06 — Background tasks with a real Celery worker: graders.

Everything is real: tasks go through the course's Redis (database 13, emptied
per test) to a ``celery -A config worker`` process that the grader starts,
kills and restarts; email goes to an SMTP server started for the grader,
which can refuse, delay or hold mail. The tests are transactional, so the
worker (another process) sees what the test commits.
"""

from __future__ import annotations

import importlib
import re
import smtplib
import time
from contextlib import contextmanager

import pytest
from background import MailServer, Workers, _wait, queued
from django.db import transaction
from django.test import Client
from django.urls import reverse
from grading_redis import emptied_redis

pytestmark = [pytest.mark.django_db(transaction=True)]

MAIL_TIMEOUT = 30.0


@pytest.fixture
def broker():
    """The graders' broker and result store (Redis database 13), empty before and after."""
    client = emptied_redis(_graders_broker(), "the graders' Celery broker")
    yield client
    client.flushdb()


def _graders_broker() -> str | None:
    """The broker the course wrote for the graders (a project may not read it yet)."""
    import os
    from pathlib import Path

    from course import envfile

    path = os.environ.get("COURSE_ENV_FILE")
    return envfile.read(Path(path)).get("CELERY_BROKER_URL") if path else None


@pytest.fixture
def mail_server(tmp_path):
    server = MailServer(tmp_path / "smtp").start()
    yield server
    server.stop()


@pytest.fixture
def workers(target_dir, tmp_path, mail_server, broker, settings):
    """Start workers with ``workers.start()``; the test process mails and writes reports where
    they do."""
    reports = tmp_path / "reports"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = mail_server.port
    settings.SHOP_REPORTS_DIR = str(reports)
    pool = Workers(target_dir, tmp_path, mail_server, reports)
    yield pool
    pool.stop_all()


def celery_app():
    """The project's Celery app, as ``celery -A config`` finds it."""
    try:
        module = importlib.import_module("config.celery")
    except ImportError as error:
        pytest.fail(f"config/celery.py cannot be imported: {error}", pytrace=False)
    from celery import Celery

    app = getattr(module, "app", None)
    if not isinstance(app, Celery):
        pytest.fail("config/celery.py defines no Celery app named `app`", pytrace=False)
    return app


@contextmanager
def smtp_connections():
    """Count connections this process opens to a mail server (the connection is still made)."""
    opened: list[tuple] = []
    original = smtplib.SMTP.connect

    def connect(self, host="localhost", port=0, source_address=None):
        opened.append((host, port))
        return original(self, host, port, source_address)

    smtplib.SMTP.connect = connect
    try:
        yield opened
    finally:
        smtplib.SMTP.connect = original


def _order_form(customer, products) -> dict:
    return {"customer_id": customer.pk, "product_ids": [p.pk for p in products],
            "quantities": [1] * len(products)}


def _customer_and_products():
    from shop.models import Customer, Product

    customer = Customer.objects.order_by("pk").first()
    products = list(Product.objects.filter(is_active=True).order_by("pk")[:2])
    return customer, products


def _place_order(client, customer, products):
    from shop.models import Order

    before = Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    started = time.perf_counter()
    try:
        response = client.post(reverse("shop:place_order"), _order_form(customer, products))
    except Exception as error:  # noqa: BLE001 - the view's own error, reported in one line
        hint = " (is the Celery app loaded when Django starts? config/__init__.py)" \
            if "Connection refused" in str(error) else ""
        pytest.fail(f"placing an order raised {type(error).__name__}: {error}{hint}",
                    pytrace=False)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 302, (
        f"placing an order answered {response.status_code}, not a redirect to the dashboard"
    )
    order = Order.objects.filter(pk__gt=before).order_by("pk").last()
    assert order is not None, "placing an order saved no order"
    return order, elapsed


def _confirmations(mail_server, order) -> list:
    return [m for m in mail_server.messages(order.customer.email)
            if f"#{order.pk}" in str(m["Subject"])]


def test_06_1_a_worker_runs_a_task(shop, workers, broker, measured):
    shop("tiny")
    from shop.models import Order

    app = celery_app()
    worker = workers.start()
    expected = Order.objects.filter(status="paid").count()
    started = time.perf_counter()
    result = app.send_task("shop.tasks.count_orders", kwargs={"status": "paid"})
    try:
        value = result.get(timeout=20)
    except Exception as error:  # noqa: BLE001 - any failure is reported with the worker's words
        if "unregistered task" in worker.log().lower():
            pytest.fail("the worker does not know shop.tasks.count_orders: let the app find the "
                        "tasks of the installed apps (app.autodiscover_tasks())", pytrace=False)
        pytest.fail(f"no result from the worker within 20 s ({type(error).__name__}): "
                    f"{worker.last_error()}", pytrace=False)
    elapsed = (time.perf_counter() - started) * 1000
    measured(f"{elapsed:.0f}", unit="ms", target="a real worker answers shop.tasks.count_orders")
    assert value == expected, f"the task answered {value}, the test database has {expected}"
    assert broker.exists(f"celery-task-meta-{result.id}"), (
        "the result is not in the Redis at CELERY_RESULT_BACKEND: read the broker and the result "
        "store from the environment (settings starting with CELERY_)"
    )


def test_06_2_confirmation_after_commit(shop, workers, broker, mail_server, measured):
    shop("tiny")
    customer, products = _customer_and_products()
    client = Client()
    with smtp_connections() as opened:
        order, elapsed = _place_order(client, customer, products)
    assert not opened, (
        f"placing an order opened {len(opened)} connection(s) to the mail server during the "
        "request: send the confirmation from a task"
    )
    messages = queued(broker)
    assert len(messages) == 1, (
        f"{len(messages)} task messages reached the broker for one order, not 1"
    )
    task_name = messages[0]["headers"]["task"]

    with smtp_connections() as opened, transaction.atomic():
        client.post(reverse("shop:place_order"), _order_form(customer, products))
        transaction.set_rollback(True)  # e.g. a later step of the request failed
    assert len(queued(broker)) == 1, (
        "a task was queued for an order that was then rolled back: queue it with "
        "transaction.on_commit(), so only committed orders are confirmed"
    )

    workers.start()
    mails = _wait(lambda: _confirmations(mail_server, order), MAIL_TIMEOUT)
    assert mails, (
        f"the worker ran {task_name} but no confirmation of order #{order.pk} reached the mail "
        f"server within {MAIL_TIMEOUT:.0f} s"
    )
    time.sleep(1.0)  # time for a wrong second email to arrive
    everything = mail_server.messages()
    assert len(everything) == 1, f"{len(everything)} emails were sent for one committed order"
    measured(f"{elapsed:.0f}", unit="ms",
             target=f"no SMTP in the request; {task_name} delivered 1 email")


def _job_step(status: dict) -> str:
    """A job's status in a word: its state, with the progress while it runs."""
    state = str(status.get("state"))
    return f"{state} {status.get('progress')}%" if state == "running" else state


def _wait_for_job(client, status_url: str, timeout: float) -> tuple[dict, list[str]]:
    """Poll a job's status URL until it is ready or failed; every step it went through."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        status = client.get(status_url).json()
        if not seen or seen[-1] != _job_step(status):
            seen.append(_job_step(status))
        if status.get("state") in ("ready", "failed"):
            break
        time.sleep(0.02)
    return status, seen


def _reported_progress(seen: list[str]) -> bool:
    """Whether the job said it was running with a progress between 0 and 100 (exclusive)."""
    return any(re.fullmatch(r"running ([1-9]\d?)%", step) for step in seen)


def _job_url(response) -> str:
    return response.get("Location") or response.json().get("status")


def test_06_3_report_jobs(shop, workers, measured):
    shop("tiny")
    from django.conf import settings
    from shop.reports import report_csv, sales_report

    client = Client()
    url = reverse("shop:request_sales_report")
    started = time.perf_counter()
    response = client.post(url, {"format": "csv"})
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 202, (
        f"requesting a report answered {response.status_code} after {elapsed:.0f} ms: answer "
        "202 Accepted at once and let the worker write the file"
    )
    from pathlib import Path

    written = list(Path(settings.SHOP_REPORTS_DIR).glob("*")) \
        if Path(settings.SHOP_REPORTS_DIR).exists() else []
    assert not written, "the request wrote the report itself; the worker must write it"
    status_url = _job_url(response)
    assert status_url, "the 202 answer names no status URL (Location header or \"status\")"
    status = client.get(status_url)
    assert status.status_code == 200, (
        f"the status URL of a queued job answered {status.status_code}: it must say \"queued\""
    )
    assert status.json().get("state") == "queued", (
        f"with no worker running the job is {status.json().get('state')!r}, not \"queued\""
    )
    pdf = client.post(url, {"format": "pdf"})
    assert pdf.status_code == 202

    workers.start()
    final, seen = _wait_for_job(client, status_url, 30)
    assert final.get("state") == "ready", (
        f"the job went through {seen} and is not \"ready\" after 30 s"
    )
    assert final.get("progress") == 100, f"a ready job reports progress {final.get('progress')}"
    assert _reported_progress(seen), (
        f"the job went through {' → '.join(seen)}: while the worker writes the file, the status "
        "URL must say \"running\" with the progress so far (the task records it in the result "
        "store: self.update_state(state=\"PROGRESS\", meta={\"progress\": percent}))"
    )
    download = client.get(final["download"])
    assert download.status_code == 200, f"the download answered {download.status_code}"
    body = b"".join(download.streaming_content) if download.streaming else download.content
    assert body.decode() == report_csv(sales_report()), (
        "the downloaded CSV is not the sales report"
    )
    pdf_status, _ = _wait_for_job(client, _job_url(pdf), 30)
    assert pdf_status.get("state") == "ready", "the PDF job did not become ready"
    pdf_download = client.get(pdf_status["download"])
    pdf_body = b"".join(pdf_download.streaming_content) if pdf_download.streaming \
        else pdf_download.content
    assert pdf_body.startswith(b"%PDF"), "the PDF download is not a PDF"
    measured(f"{elapsed:.0f}", unit="ms",
             target="202 at once; the worker writes CSV and PDF (" + " → ".join(seen) + ")")


def _retry_waits(log: str) -> list[float]:
    """The wait before each retry in seconds, as the worker logged it ("retry: Retry in 2s: …")."""
    return [float(wait) for wait in re.findall(r"retry: Retry in ([\d.]+)s", log)]


def _task_names(log: str) -> list[str]:
    return re.findall(r"Task ([\w.]+)\[[0-9a-f-]+\] received", log)


def test_06_4_retry_with_backoff(shop, workers, mail_server, measured):
    shop("tiny")
    customer, products = _customer_and_products()
    refusals = 2
    mail_server.behave(refuse_next=refusals)
    worker = workers.start()
    order, _ = _place_order(Client(), customer, products)
    started = time.monotonic()
    mails = _wait(lambda: _confirmations(mail_server, order), MAIL_TIMEOUT)
    seconds = time.monotonic() - started
    assert mail_server.setting("refuse_next") == 0, (
        "the mail server was never asked: is the confirmation sent by the worker?"
    )
    assert mails, (
        f"the mail server refused {refusals} times, then accepted, but no confirmation arrived "
        f"within {MAIL_TIMEOUT:.0f} s: retry the task when sending fails "
        f"({worker.last_error()})"
    )
    assert len(mail_server.messages()) == 1, "the customer received more than one confirmation"
    waits = _retry_waits(worker.log())
    retries = len(waits)
    assert retries >= refusals, f"the worker logged {retries} retries for {refusals} refusals"
    names = _task_names(worker.log())
    app = celery_app()
    app.loader.import_default_modules()
    task = app.tasks[names[0]]
    assert task.max_retries is not None, (
        f"{task.name} retries forever (max_retries=None): a mail server that never comes back "
        "would keep it in the queue for good"
    )
    # Backoff is autoretry's retry_backoff (whose waits are random with the default jitter),
    # or a task that retries itself with waits that grow.
    automatic = bool(getattr(task, "retry_backoff", False))
    growing = all(later > earlier > 0 for earlier, later in zip(waits, waits[1:], strict=False))
    logged = ", ".join(f"{wait:g} s" for wait in waits)
    assert automatic or growing, (
        f"{task.name} retried after waits of {logged}, a fixed pace: with "
        "retry_backoff each wait doubles"
    )
    jitter = " (retry_jitter draws each wait at random below the doubling bound)" \
        if automatic and getattr(task, "retry_jitter", True) else ""  # Celery's default: on
    measured(f"{refusals} refusals, {retries} retries after waits of {logged}{jitter}; "
             f"delivered after {seconds:.1f} s",
             target=f"1 email; backoff; at most {task.max_retries} retries")


def _kill_when(worker, condition, what: str, settle: float = 0.0) -> float:
    """SIGKILL the worker once ``condition()`` holds (and ``settle`` seconds more)."""
    if not _wait(condition, 20.0):
        pytest.fail(f"{what} did not happen within 20 s: {worker.last_error()}", pytrace=False)
    time.sleep(settle)
    worker.kill()
    return time.monotonic()


def test_06_5_survives_a_killed_worker(shop, workers, mail_server, measured):
    from background import VISIBILITY_TIMEOUT

    shop("tiny")
    customer, products = _customer_and_products()
    client = Client()
    restart_after = VISIBILITY_TIMEOUT + 1.5

    # 1. Killed while the mail server is still thinking: nothing was delivered.
    mail_server.behave(delay_seconds=60)
    worker = workers.start()
    lost, _ = _place_order(client, customer, products)
    killed = _kill_when(worker, lambda: " received" in worker.log(),
                        "the worker taking the confirmation task", settle=1.0)
    mail_server.behave(delay_seconds=0)
    time.sleep(max(0.0, killed + restart_after - time.monotonic()))
    worker = workers.start(concurrency=2)  # the next part runs an email and a report at once
    mails = _wait(lambda: _confirmations(mail_server, lost), MAIL_TIMEOUT)
    assert mails, (
        f"the worker was killed while sending the confirmation of order #{lost.pk}; restarted, "
        "it never sent it: the task was acknowledged when it started and died with the worker "
        "(acknowledge late, acks_late=True)"
    )

    # 2. Killed after the mail server stored the email, before it said so, and in the middle
    #    of a report: both tasks run again.
    mail_server.behave(hold_seconds=60)
    twice, _ = _place_order(client, customer, products)
    if not _wait(lambda: _confirmations(mail_server, twice), 20.0):
        pytest.fail(f"the confirmation of order #{twice.pk} did not reach the mail server within "
                    f"20 s: {worker.last_error()}", pytrace=False)
    requested = client.post(reverse("shop:request_sales_report"), {"format": "csv"})
    assert requested.status_code == 202, (
        f"requesting a report answered {requested.status_code}: make report jobs work (06.3) first"
    )
    status_url = _job_url(requested)
    job = requested.json().get("job")

    def report_half_done() -> bool:
        return _reported_progress([_job_step(client.get(status_url).json())])

    killed = _kill_when(worker, report_half_done,
                        "the report job running (with progress) while the email was held")
    mail_server.behave(hold_seconds=0)
    time.sleep(max(0.0, killed + restart_after - time.monotonic()))
    worker = workers.start()
    # Both tasks come back (email first: the report takes a few pauses); a task that was
    # acknowledged early does not, and the checks below say which.
    _wait(lambda: worker.log().count(" succeeded in ") >= 2, 15.0)
    time.sleep(0.5)
    deliveries = _confirmations(mail_server, twice)
    distinct = {str(m["Message-ID"]) for m in deliveries}
    assert len(distinct) == 1, (
        f"the task ran again and the customer of order #{twice.pk} received {len(distinct)} "
        "different confirmations: make a repeat recognisably the same message (one Message-ID "
        "per order's confirmation), so the mailbox shows it once"
    )
    final, seen = _wait_for_job(client, status_url, 5.0)
    assert final.get("state") == "ready", (
        f"the report job was {' → '.join(seen)} after its worker was killed mid-report and "
        "restarted: its message was acknowledged when the task started and died with the worker "
        "(acknowledge report tasks late too)"
    )
    reports = sorted(path.name for path in workers.reports_dir.iterdir())
    assert reports == [f"{job}.csv"], (
        f"after the report ran again the reports folder holds {reports}: one job, one file"
    )
    measured(f"email: {len(deliveries)} deliveries, {len(distinct)} distinct; "
             f"report: {len(reports)} file",
             target="one confirmation and one report, whatever the kills")
