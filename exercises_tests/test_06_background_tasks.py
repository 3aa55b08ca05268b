"""Chapter 06 — Background tasks with a real Celery worker: graders.

Everything is real: tasks go through the course's Redis (database 13, emptied
per test) to a ``celery -A config worker`` process that the grader starts,
kills and restarts; email goes to an SMTP server started for the grader,
which can refuse, delay or hold mail. The tests are transactional, so the
worker (another process) sees what the test commits.

The grader never imports the project's Celery app itself (it talks to the broker
with a client of its own): the project must load it when Django starts, as a
deployment does, or a grader's import would make a later exercise pass. A worker
is killed whole (a deploy, a pulled plug) and, apart, only its pool processes (the
OOM killer picks the process that holds the memory).
"""

from __future__ import annotations

import re
import smtplib
import time
from contextlib import contextmanager

import pytest
from background import (
    MailServer,
    _wait,
    decoded,
    kill_pool_processes,
    queued,
)
from django.db import transaction
from django.test import Client
from django.urls import reverse
from grading_env import graders_env

pytestmark = [pytest.mark.django_db(transaction=True)]

MAIL_TIMEOUT = 30.0


def graders_celery():
    """A Celery client of the graders' broker and result store, owned by the grader. Nothing
    of the project is imported for it: the project under test must load its own app (as a
    deployment does), so a grader that imported config.celery cannot make a later exercise
    pass."""

    from celery import Celery


    values = graders_env()
    return Celery("graders", broker=values.get("CELERY_BROKER_URL"),
                  backend=values.get("CELERY_RESULT_BACKEND"), set_as_current=False)


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


def _request_report(client, fmt: str = "csv"):
    """POST a report request; the view's own error is reported in one line."""
    try:
        return client.post(reverse("shop:request_sales_report"), {"format": fmt})
    except Exception as error:  # noqa: BLE001
        hint = " (is the Celery app loaded when Django starts? config/__init__.py)" \
            if "Connection refused" in str(error) else ""
        pytest.fail(f"requesting a report raised {type(error).__name__}: {error}{hint}",
                    pytrace=False)


def _place_order(client, customer, products):
    from shop.models import Order

    before = Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    started = time.perf_counter()
    try:
        response = client.post(reverse("shop:place_order"), _order_form(customer, products))
    except Exception as error:  # noqa: BLE001 - the view's own error, reported in one line
        hint = " (is the Celery app loaded when Django starts? config/__init__.py)" \
            if "Connection refused" in str(error) else ""
        if "serializ" in str(error).lower():
            hint = (" (task arguments travel through the broker as JSON: send the order's id, "
                    "and read the order in the task)")
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


SEND_FROM_DJANGO = """
from celery import current_app
from shop.tasks import count_orders
try:
    result = count_orders.delay(status="paid")
except Exception as error:
    report(error=f"{type(error).__name__}: {error}", broker=current_app.conf.broker_url)
else:
    report(id=result.id, broker=current_app.conf.broker_url)
"""


def test_06_1_a_worker_runs_a_task(shop, workers, broker, project, measured):
    shop("tiny")
    from shop.models import Order

    worker = workers.start()
    expected = Order.objects.filter(status="paid").count()
    client = graders_celery()
    started = time.perf_counter()
    result = client.send_task("shop.tasks.count_orders", kwargs={"status": "paid"})

    def settled() -> bool:
        log = worker.log()
        return result.ready() or "unregistered task" in log.lower() or \
            f"[{result.id}] succeeded in " in log or f"[{result.id}] raised " in log

    _wait(settled, 20.0)
    if not result.ready():
        _wait(result.ready, 1.0)  # the worker logs before it stores the result
    log = worker.log()
    if "unregistered task" in log.lower():
        pytest.fail("the worker does not know shop.tasks.count_orders: let the app find the "
                    "tasks of the installed apps (app.autodiscover_tasks()) [hint 3]",
                    pytrace=False)
    if not result.ready() and f"[{result.id}] succeeded in " in log:
        pytest.fail("the worker ran shop.tasks.count_orders but its result is not in the "
                    "Redis at CELERY_RESULT_BACKEND: read the broker and the result store "
                    "from the environment (settings starting with CELERY_) [hint 2]",
                    pytrace=False)
    try:
        value = result.get(timeout=1)
    except Exception as error:  # noqa: BLE001 - any failure is reported with the worker's words
        pytest.fail(f"no result from the worker within 20 s ({type(error).__name__}): "
                    f"{worker.last_error()}", pytrace=False)
    elapsed = (time.perf_counter() - started) * 1000
    assert value == expected, f"the task answered {value}, the test database has {expected}"

    # The shop's own processes (an app server under production settings) send tasks with
    # .delay(): they reach this worker only if Django loads the project's app when it starts.
    sent = project.probe("config.settings.production", SEND_FROM_DJANGO)
    sent["broker"] = sent.get("broker") or "amqp://guest@localhost// (Celery's default)"
    assert "id" in sent, (
        f"the shop could not send a task: {sent.get('error')} (its Celery app uses the broker "
        f"{sent.get('broker')}): Django does not load the project's Celery app when it starts, "
        "so .delay() uses Celery's default app; import it in config/__init__.py [hint 3]"
    )
    try:
        client.AsyncResult(sent["id"]).get(timeout=20)
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"a task sent by the shop with .delay() never reached the worker "
                    f"({type(error).__name__}; the shop's Celery app uses {sent.get('broker')}): "
                    "Django must load the project's Celery app when it starts "
                    "(config/__init__.py) [hint 3]", pytrace=False)
    measured(f"{elapsed:.0f}", unit="ms", target="a real worker answers shop.tasks.count_orders, "
             "sent by the grader and by the shop itself")


def test_06_2_confirmation_after_commit(shop, workers, broker, mail_server, measured):
    shop("tiny")
    customer, products = _customer_and_products()
    client = Client()
    with smtp_connections() as opened:
        order, elapsed = _place_order(client, customer, products)
    assert not opened, (
        f"placing an order opened {len(opened)} connection(s) to the mail server during the "
        "request: send the confirmation from a task [hint 2]"
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
        "transaction.on_commit(), so only committed orders are confirmed [hint 3]"
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
    started = time.perf_counter()
    response = _request_report(client, "csv")
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 202, (
        f"requesting a report answered {response.status_code} after {elapsed:.0f} ms: answer "
        "202 Accepted at once and let the worker write the file [hint 2]"
    )
    from pathlib import Path

    written = list(Path(settings.SHOP_REPORTS_DIR).glob("*")) \
        if Path(settings.SHOP_REPORTS_DIR).exists() else []
    assert not written, (
        "the request wrote the report itself; the worker must write it (start the task with "
        "apply_async) [hint 2]"
    )
    status_url = _job_url(response)
    assert status_url, "the 202 answer names no status URL (Location header or \"status\")"
    status = client.get(status_url)
    assert status.status_code == 200, (
        f"the status URL of a queued job answered {status.status_code}: it must say \"queued\" "
        "[hint 3]"
    )
    assert status.json().get("state") == "queued", (
        f"with no worker running the job is {status.json().get('state')!r}, not \"queued\""
    )
    pdf = _request_report(client, "pdf")
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
        "store: self.update_state(state=\"PROGRESS\", meta={\"progress\": percent})) [hint 2]"
    )
    download = client.get(final["download"])
    assert download.status_code == 200, f"the download answered {download.status_code}"
    body = b"".join(download.streaming_content) if download.streaming else download.content
    assert body.decode() == report_csv(sales_report()), (
        "the downloaded CSV is not the sales report"
    )
    pdf_status, pdf_seen = _wait_for_job(client, _job_url(pdf), 45)
    assert pdf_status.get("state") == "ready", (
        f"the PDF job did not become ready within 45 s of the CSV's (it went through "
        f"{' → '.join(pdf_seen)})")
    pdf_download = client.get(pdf_status["download"])
    pdf_body = b"".join(pdf_download.streaming_content) if pdf_download.streaming \
        else pdf_download.content
    assert pdf_body.startswith(b"%PDF"), "the PDF download is not a PDF"
    measured(f"{elapsed:.0f}", unit="ms",
             target="202 at once; the worker writes CSV and PDF (" + " → ".join(seen) + ")")


def _outcomes(log: str, task_id: str) -> list[str]:
    """What the worker logged of each run of one task: "retry 2" (with the wait in seconds),
    "failed" or "succeeded"."""
    found = []
    pattern = rf"\[{re.escape(task_id)}\] (retry: Retry in ([\d.]+)s|raised |succeeded in )"
    for match in re.finditer(pattern, log):
        if match.group(2) is not None:
            found.append(f"retry {float(match.group(2)):g}")  # "retry 2": in 2 s
        else:
            found.append("failed" if match.group(1).startswith("raised") else "succeeded")
    return found


def _waits(outcomes: list[str]) -> list[float]:
    return [float(step.split()[1]) for step in outcomes if step.startswith("retry ")]


SEND_TO_A_HANGING_SERVER = """
import time
from django.core.mail import send_mail
started = time.monotonic()
try:
    send_mail("Timeout probe", "Does the sender give up?", None, ["probe@shop.example"])
except Exception as error:
    report(seconds=time.monotonic() - started, error=type(error).__name__)
else:
    report(seconds=time.monotonic() - started, error=None)
"""

HANG_LIMIT = 15.0  # seconds a send may wait for a mail server that accepted and then hangs
STARTUP_ALLOWANCE = 20.0  # seconds the probe's process may take to start Django, on a busy day
PROBES = {0: 6, 2: 10, 12: 1, 50: 1}  # retries already made: how many task messages


def test_06_4_retry_with_backoff(shop, workers, broker, mail_server, project, tmp_path,
                                 measured):
    import threading

    shop("tiny")
    # A mail server that accepts the connection and then hangs: the shop's own mail settings,
    # in a process under production settings, must give up rather than wait with it.
    # Made once per target (a migrated, seeded copy; the collected static files): not timed
    # below, where only the send is.
    project.seeded_database()
    project.collect_static()
    hanging = MailServer(tmp_path / "hanging").start()
    hanging.behave(delay_seconds=HANG_LIMIT + 30)
    hang: dict = {}

    def send_to_hanging_server() -> None:
        try:
            hang.update(project.probe("config.settings.production", SEND_TO_A_HANGING_SERVER,
                                      SMTP_HOST="127.0.0.1", SMTP_PORT=str(hanging.port)))
        except Exception as error:  # noqa: BLE001 - reported below
            hang["failure"] = str(error)

    prober = threading.Thread(target=send_to_hanging_server, daemon=True)
    hang["started"] = time.monotonic()
    prober.start()
    try:
        _retries_and_backoff(workers, broker, mail_server, measured, prober, hang)
    finally:
        hanging.stop()


def _retries_and_backoff(workers, broker, mail_server, measured, prober, hang) -> None:
    customer, products = _customer_and_products()
    order, _ = _place_order(Client(), customer, products)
    messages = queued(broker)
    assert len(messages) == 1, (
        f"{len(messages)} task messages reached the broker for one order: make the "
        "confirmation a task first (06.2)"
    )
    name, task_id = messages[0]["headers"]["task"], messages[0]["headers"]["id"]
    args, kwargs = decoded(messages[0])

    # 1. The mail server refuses twice (451, "try again later"), then accepts.
    refusals = 2
    mail_server.behave(refuse_next=refusals)
    worker = workers.start()

    def settled():
        return _confirmations(mail_server, order) or any(
            step == "failed" or (step.startswith("retry ") and float(step.split()[1]) > 10)
            for step in _outcomes(worker.log(), task_id))

    _wait(settled, 20.0)
    outcomes = _outcomes(worker.log(), task_id)
    waits = _waits(outcomes)
    logged = ", ".join(f"{wait:g} s" for wait in waits)
    assert mail_server.setting("refuse_next") < refusals, (
        "the mail server was never asked: is the confirmation sent by the worker?"
    )
    if not waits:
        pytest.fail(f"the mail server refused the confirmation ({refusals} times, then it "
                    f"accepts) and {name} was not retried: the email is lost "
                    f"({worker.last_error()}); retry it when sending fails (autoretry_for) "
                    "[hint 2]", pytrace=False)
    mails = _wait(lambda: _confirmations(mail_server, order), 2.0)
    assert mails, (
        f"the mail server refused {refusals} times, then accepted, but no confirmation arrived "
        f"within 20 s: {name} retried after waits of {logged}. A mail server that refuses now "
        "and then deserves a retry after a second or two, then longer and longer waits "
        "(retry_backoff=True with autoretry_for; without it each retry waits "
        "default_retry_delay, 3 minutes) [hint 2]"
    )
    assert len(mail_server.messages()) == 1, "the customer received more than one confirmation"

    # 2. The mail server refuses everything: task messages that already failed 0, 2, 12 and 50
    #    times (as a retry sends them) show how long the task waits, and when it gives up.
    mail_server.behave(refuse_next=100_000)
    client = graders_celery()
    probes = {retries: [client.send_task(name, args=args, kwargs=kwargs, retries=retries).id
                        for _ in range(count)] for retries, count in PROBES.items()}

    def probed() -> dict[int, list[list[str]]]:
        log = worker.log()
        return {retries: [_outcomes(log, probe)[:1] for probe in ids]
                for retries, ids in probes.items()}

    _wait(lambda: all(run for runs in probed().values() for run in runs), 15.0)
    seen = {retries: [run[0] if run else "no run" for run in runs]
            for retries, runs in probed().items()}
    assert not any("no run" in runs for runs in seen.values()), (
        f"the worker did not run every copy of {name} within 15 s: {seen} "
        f"({worker.last_error()})"
    )
    assert seen[50] == ["failed"], (
        f"a confirmation that already failed 50 times was retried again (in "
        f"{seen[50][0].split()[-1]} s): a "
        "mail server that never comes back keeps it in the queue for good; bound the retries "
        "(max_retries) [hint 3]"
    )
    for retries in (0, 2):
        assert all(step.startswith("retry ") for step in seen[retries]), (
            f"after {retries} failed attempts {name} did not retry again ({seen[retries]}): "
            f"{'at least 3 retries' if retries else 'a retry'} before giving up "
            "(max_retries), or one refusal loses the email [hint 2]"
        )
    first = _waits(seen[0])
    third = _waits(seen[2])
    assert max(third) > max(first), (
        f"{name} waits {', '.join(f'{w:g}' for w in sorted(set(first)))} s before its first "
        f"retry and {', '.join(f'{w:g}' for w in sorted(set(third)))} s after 2 failed "
        "attempts: a fixed pace, which hammers a mail server that is down; each wait must "
        "grow (retry_backoff=True works with autoretry_for, not with self.retry()) [hint 2]"
    )
    later = _waits(seen[12])
    assert not later or max(later) <= 600, (
        f"after 12 failed attempts {name} waits {max(later):g} s: cap the wait "
        "(retry_backoff_max, 10 minutes by default) [hint 3]"
    )

    # 3. The mail server that hangs (sent to while the rest ran).
    # (starting Django under production settings takes a few seconds more, and up to many
    # more on a machine busy with other work; the probe times the send itself)
    prober.join(max(0.0, hang["started"] + HANG_LIMIT + STARTUP_ALLOWANCE - time.monotonic()))
    assert not prober.is_alive() and hang.get("seconds", 0) <= HANG_LIMIT, (
        f"a mail server that accepted the connection and then hung held the sender for more "
        f"than {HANG_LIMIT:.0f} s: without a timeout a worker's process (or a request) waits "
        "with it for good and nothing is retried; give the mail connection a timeout "
        "(EMAIL_TIMEOUT) [hint 3]"
    )
    assert "failure" not in hang, f"sending mail under production settings failed: {hang}"
    assert hang.get("error"), (
        f"a mail server that hangs answered after {hang.get('seconds', 0):.0f} s?"
    )
    jittered = len(set(third)) > 1
    measured(f"refused {refusals}×: retries after {logged}, delivered once; after 2 failures "
             f"waits of {min(third):g}–{max(third):g} s{' (jitter)' if jittered else ''}; "
             f"gives up after 50; a hanging server gives up after {hang['seconds']:.0f} s",
             target="1 email; waits that grow, capped; bounded retries; a mail timeout")


def _kill_when(worker, condition, what: str, settle: float = 0.0) -> float:
    """SIGKILL the worker once ``condition()`` holds (and ``settle`` seconds more)."""
    if not _wait(condition, 20.0):
        pytest.fail(f"{what} did not happen within 20 s: {worker.last_error()}", pytrace=False)
    time.sleep(settle)
    worker.kill()
    return time.monotonic()


def _report_files(folder, jobs: list[str]) -> list[str]:
    """The names of the files kept for ``jobs``: in the reports folder, and, once the reports
    are kept in the object store (chapter 11), in the graders' private bucket."""
    from conftest import graders_env

    names = [path.name for path in folder.iterdir()] if folder.exists() else []
    values = graders_env()
    if values.get("AWS_S3_ENDPOINT_URL") and values.get("SHOP_REPORTS_BUCKET"):
        from course.services.plugins import objectstore

        listed = objectstore.client(values["AWS_S3_ENDPOINT_URL"]).list_objects_v2(
            Bucket=values["SHOP_REPORTS_BUCKET"]).get("Contents", [])
        names += [item["Key"].rsplit("/", 1)[-1] for item in listed
                  if any(job in item["Key"] for job in jobs)]
    return sorted(names)


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
    mails = _wait(lambda: _confirmations(mail_server, lost), 12.0)
    assert mails, (
        f"the worker was killed while sending the confirmation of order #{lost.pk}; restarted, "
        "it never sent it: the task was acknowledged when it started and died with the worker "
        "(acknowledge late, acks_late=True) [hint 2]"
    )

    # 2. Only the pool's processes are killed (the OOM killer picks the process that holds
    #    the memory) while one sends an email and one writes a report; the worker lives on.
    mail_server.behave(delay_seconds=60)
    received = worker.log().count(" received")
    oom, _ = _place_order(client, customer, products)
    requested = _request_report(client)
    assert requested.status_code == 202, (
        f"requesting a report answered {requested.status_code}: make report jobs work (06.3) first"
    )
    oom_status, oom_job = _job_url(requested), requested.json().get("job")

    def both_running() -> bool:
        return worker.log().count(" received") >= received + 2 and \
            _reported_progress([_job_step(client.get(oom_status).json())])

    if not _wait(both_running, 20.0):
        pytest.fail("the confirmation and a report job did not both run within 20 s: "
                    f"{worker.last_error()}", pytrace=False)
    time.sleep(0.3)  # the email is with the mail server, which is thinking
    killed = kill_pool_processes(worker)
    if not killed:
        pytest.fail("the grader found no pool process of the worker to kill (its own "
                    "problem, not yours): run the check again", pytrace=False)
    mail_server.behave(delay_seconds=0)
    mails = _wait(lambda: _confirmations(mail_server, oom), 10.0)
    final, seen = _wait_for_job(client, oom_status, 10.0)
    lost_words = (
        "with acks_late alone, Celery acknowledges a task whose process died and records it as "
        "failed (WorkerLostError); reject_on_worker_lost=True hands it back to the queue at "
        "once (retry_on_worker_lost=True retries it after default_retry_delay, 3 minutes)")
    assert mails, (
        f"the pool process sending the confirmation of order #{oom.pk} was killed "
        f"({len(killed)} pool processes killed, the worker itself lived on) and the "
        f"confirmation was never sent: {lost_words} [hint 2]"
    )
    assert final.get("state") == "ready", (
        f"the pool process writing a report was killed (the worker itself lived on) and the "
        f"job went {' → '.join(seen)}, not \"ready\": a report task whose process died must "
        "run again; acknowledge it late (acks_late=True) and hand it back when its process "
        "dies (reject_on_worker_lost=True) [hint 2]"
    )

    # 3. Killed after the mail server stored the email, before it said so, and in the middle
    #    of a report: both tasks run again.
    mail_server.behave(hold_seconds=60)
    twice, _ = _place_order(client, customer, products)
    if not _wait(lambda: _confirmations(mail_server, twice), 20.0):
        pytest.fail(f"the confirmation of order #{twice.pk} did not reach the mail server within "
                    f"20 s: {worker.last_error()}", pytrace=False)
    requested = _request_report(client)
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
        "per order's confirmation), so the mailbox shows it once [hint 3]"
    )
    final, seen = _wait_for_job(client, status_url, 5.0)
    assert final.get("state") == "ready", (
        f"the report job was {' → '.join(seen)} after its worker was killed mid-report and "
        "restarted: its message was acknowledged when the task started and died with the worker "
        "(acknowledge report tasks late too) [hint 2]"
    )
    reports = _report_files(workers.reports_dir, [str(oom_job), str(job)])
    assert reports == sorted([f"{oom_job}.csv", f"{job}.csv"]), (
        f"after two reports ran again the reports folder holds {reports}: one job, one file"
    )
    measured(f"email: {len(deliveries)} deliveries, {len(distinct)} distinct; "
             f"reports: {len(reports)} files for 2 jobs",
             target="one confirmation and one report file per job, whether the whole worker "
                    "or only its pool process is killed")
