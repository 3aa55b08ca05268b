"""Chapter 11 — Scaling out: graders.

11.1 runs nginx with the project's ``deploy/nginx/lb.conf.template`` twice. First in front
of two recording upstreams, which keep every connection and every request nginx sends
them: 60 requests from one address must reach both, over a few kept-open HTTP/1.1
connections, each carrying the visitor's Host, address, scheme and a fresh request id.
Then in front of two real instances of the shop, started from its Procfile: visitors
keep asking while one instance is killed, and none of them may get an error.

11.2 runs a Celery worker and two app servers as if on three machines, each with a disk of
its own, all sharing the database, Redis and the object store: reports asked of one app
server must be ready, and downloadable, through the other, kept in the private bucket only.

11.3 starts the project from its Procfile and plays the balancer: it sends what a balancer
passes on (X-Forwarded-Proto, X-Forwarded-For, forged entries, a CDN hop) and reads the
API's links and the client each request line (10.2) names; then it sends the same from an
address that TRUSTED_PROXIES does not name.

11.4 runs on PostgreSQL with the course's streaming replica, which applies each change 1 s
after the primary: the project from its Procfile and a real worker, both given the replica's
copy of the test database. A product put on sale on the primary a moment ago tells which
database a page read (a 404: the replica); an order placed from a dashboard must be on the
page the customer lands on, and the worker must find it to send its confirmation.

11.5 validates the manifests against the Kubernetes release's schemas, reads the topology they
describe, and asks the shop itself the probes' questions, with the database reachable and not.

11.6 starts two instances from the Procfile as two machines (a media folder, a reports folder
and a temporary folder each) and plays the balancer: a session, a cached dashboard and an
uploaded picture must be the same through both, and the sign-in limit one count for both,
per visitor address, expiring after the lockout.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from procfile_server import procfile_server

from course.measuring import balancing, load, manifests, replicas, shared_state
from course.measuring.visitor import Upload, Visitor, csrf_token, random_address

SETTINGS = "config.settings.production"

# 11.1 ---------------------------------------------------------------------------------------

VISITOR_HOST = balancing.VISITOR_HOST
FORGED_ADDRESS = balancing.FORGED_ADDRESS
REQUESTS = 60
MOST_CONNECTIONS = 8  # kept open: a handful at most; one per request without keep-alive
SPREAD_AT_LEAST = 0.25  # each of two instances answers at least a quarter
LOAD_SECONDS = 4.0
KILL_AT = 1.5
LOAD_USERS = 8


def _recorded(target_dir: Path) -> tuple[list[balancing.RecordingUpstream], list[int]]:
    """Two recording upstreams behind the project's balancer, after ``REQUESTS`` requests
    from one visitor: the upstreams and the statuses the visitor saw."""
    upstreams = [balancing.RecordingUpstream("first"), balancing.RecordingUpstream("second")]
    return upstreams, balancing.one_visitor(target_dir, upstreams, REQUESTS)


def _check_headers(seen: list[balancing.Seen]) -> None:
    hosts = Counter(request.headers.get("host", "(none)") for request in seen)
    assert set(hosts) == {VISITOR_HOST}, (
        f"the visitor asked for Host: {VISITOR_HOST}; the instances were told "
        f"Host: {hosts.most_common(1)[0][0]}, which the shop's ALLOWED_HOSTS refuses (400) "
        "and its absolute URLs would name. Pass the visitor's Host on [hint 1]")
    forwarded = [request.headers.get("x-forwarded-for", "") for request in seen]
    last = Counter(value.split(",")[-1].strip() for value in forwarded)
    assert set(last) == {"127.0.0.1"}, (
        f"the visitor, at 127.0.0.1, sent X-Forwarded-For: {FORGED_ADDRESS}; the instances "
        f"were told X-Forwarded-For: {forwarded[0] or '(nothing)'}. The shop takes the last "
        "address there as the visitor's: it must be the one nginx saw ($remote_addr), never "
        "one the client wrote [hint 1]")
    schemes = Counter(request.headers.get("x-forwarded-proto", "(none)") for request in seen)
    assert set(schemes) == {"http"}, (
        f"the visitor came over http; the instances were told X-Forwarded-Proto: "
        f"{schemes.most_common(1)[0][0]}. Tell them the scheme nginx was asked with "
        "($scheme), so that behind https the shop knows its pages are secure [hint 1]")
    ids = [request.headers.get("x-request-id", "") for request in seen]
    assert all(ids) and len(set(ids)) == len(ids), (
        f"{sum(1 for value in ids if not value)} of {len(ids)} requests reached an instance "
        f"without an X-Request-ID, and {len(ids) - len(set(ids))} with one already used: give "
        "each request its own ($request_id), which the shop logs on every line and passes "
        "to Celery (10.2, 10.3) [hint 1]")


def _check_connections(upstreams: list[balancing.RecordingUpstream]) -> int:
    seen = [request for upstream in upstreams for request in upstream.requests]
    opened = sum(upstream.connections for upstream in upstreams)
    if opened <= MOST_CONNECTIONS:
        return opened
    versions = Counter(request.version for request in seen)
    closing = sum(1 for request in seen
                  if request.headers.get("connection", "").lower() == "close")
    if versions.get("HTTP/1.0"):
        cause = ("nginx spoke HTTP/1.0 to them, which closes the connection after each "
                 "answer: proxy_http_version 1.1")
    elif closing:
        cause = (f"{closing} requests came with Connection: close, which asks the instance "
                 "to close it after answering: proxy_set_header Connection \"\"")
    else:
        cause = ("nginx kept none open for the next request: a keepalive line in the "
                 "upstream block")
    raise AssertionError(
        f"{len(seen)} requests reached the instances over {opened} new connections; a "
        f"balancer keeps a few open and reuses them (at most {MOST_CONNECTIONS} here). "
        f"{cause} [hint 2]")


def test_11_1_nginx_spreads_the_load(project, target_dir, measured, tmp_path):
    from course.services import ServiceError

    try:
        upstreams, statuses = _recorded(target_dir)
    except ServiceError as error:
        pytest.fail(f"{error} [hint 1]", pytrace=False)
    seen = [request for upstream in upstreams for request in upstream.requests]
    assert len(seen) == REQUESTS and set(statuses) == {200}, (
        f"of {REQUESTS} requests to the balancer, {len(seen)} reached an instance; the "
        f"visitor saw {dict(Counter(statuses))}")
    _check_headers(seen)
    shares = [len(upstream.requests) for upstream in upstreams]
    assert min(shares) >= SPREAD_AT_LEAST * REQUESTS, (
        f"{REQUESTS} requests from one address went {shares[0]} to the first instance and "
        f"{shares[1]} to the second: every visitor behind one address (an office, a mobile "
        "carrier) lands on one instance while the other idles. Sessions are in Redis, so any "
        "instance can answer anyone: spread them (round robin, nginx's default) [hint 2]")
    opened = _check_connections(upstreams)

    project.collect_static()  # what a release does before the instances start
    with procfile_server(project, SETTINGS, 1, "/products/") as first, \
            procfile_server(project, SETTINGS, 1, "/products/") as second:
        urls = [first[0], second[0]]
        outcome, answered = balancing.load_while_killing(
            target_dir, urls, second[1], tmp_path / "balancer", users=LOAD_USERS,
            seconds=LOAD_SECONDS, at=KILL_AT)
        instances = [answered.get(url.removeprefix("http://"), 0) for url in urls]
    cut = f" ({outcome.cut} cut mid-answer)" if outcome.cut else ""
    measured(f"{outcome.lost} of {outcome.sent} failed{cut}; {opened} connections for "
             f"{REQUESTS} requests", target="0 failed, at most 8 connections",
             unit="while an instance died")
    assert outcome.sent >= 50 and all(instances), (
        f"while one instance was killed, {outcome.sent} requests were sent and the instances "
        f"answered {instances}: the load did not reach both")
    failed = Counter(str(status) for status in outcome.statuses.elements() if status != 200)
    failed.update(re.sub(r"\d+", "N", failure)[:60] for failure in outcome.failures)
    assert outcome.lost == 0, (
        f"{outcome.lost} of {outcome.sent} visitors' requests failed "
        f"({', '.join(f'{n}× {what}' for what, n in failed.most_common(3))}) while one of two "
        "instances was killed: the requests it held, and those sent to it before nginx "
        "noticed, were answered with an error instead of being tried on the other. Let nginx "
        "retry a failed GET on the next instance (proxy_next_upstream's default) [hint 3]")
    # An answer the instance had begun to send when it died cannot be retried by any setting
    # (nginx had passed its headers on): at most one per visitor, each on its request in flight.
    assert outcome.cut <= LOAD_USERS, (
        f"{outcome.cut} answers were cut off part way while one instance was killed, more than "
        f"the {LOAD_USERS} visitors had in flight: answers are being cut off when no instance "
        "dies (a body shorter than its Content-Length, or connections closed mid-answer)")


# 11.2 ---------------------------------------------------------------------------------------

REPORT_FORMATS = ("csv", "pdf")
READY_WITHIN = 40  # seconds, for both reports (the worker pauses at each progress step)


def _ask_for_report(visitor: Visitor, base: str, fmt: str) -> str:
    """Ask ``base`` for a report job as the sales page's form does: its status URL."""
    status, page, _ = visitor.ask(f"{base}/reports/sales/")
    assert status == 200, f"the sales report page answered {status}"
    token = csrf_token(page)
    assert token, "the sales report page has no form with a CSRF token"
    status, body, _ = visitor.ask(f"{base}/reports/sales/jobs/",
                                  {"format": fmt, "csrfmiddlewaretoken": token})
    assert status == 202, f"asking for a {fmt} report answered {status}: {body[:200]!r}"
    return json.loads(body)["status"]


def _wait_until_done(visitor: Visitor, url: str) -> dict:
    deadline = time.monotonic() + READY_WITHIN
    state: dict = {}
    while time.monotonic() < deadline:
        status, body, _ = visitor.ask(url)
        state = json.loads(body) if status == 200 else {"state": f"HTTP {status}"}
        if state.get("state") in ("ready", "failed"):
            break
        time.sleep(0.2)
    return state


def _files_under(folders: dict[str, Path]) -> dict[str, list[str]]:
    return {name: sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                         if path.is_file())
            for name, folder in folders.items() if folder.exists()}


def test_11_2_reports_any_instance_can_serve(project, workers, tmp_path, measured):
    from background import graders_broker_env, start_project_worker
    from conftest import graders_env

    from course.services.plugins import objectstore

    values = graders_env()  # what the project reads: the graders' buckets
    endpoint, bucket = values.get("AWS_S3_ENDPOINT_URL"), values.get("SHOP_REPORTS_BUCKET")
    assert endpoint and bucket, (
        "the object store is not running (python3 -m course services up objectstore): this "
        "grader needs it")
    disks = {name: tmp_path / f"{name}-disk" for name in ("worker", "first", "second")}
    broker = graders_broker_env()
    start_project_worker(project, workers, {**broker, "SHOP_REPORTS_DIR": str(disks["worker"]),
                                            "MEDIA_ROOT": str(disks["worker"] / "media")})
    project.collect_static()
    visitor = Visitor()
    served: dict[str, tuple[bytes, bytes]] = {}
    with procfile_server(project, SETTINGS, 1, "/products/", extra_env={
            **broker, "SHOP_REPORTS_DIR": str(disks["first"]),
            "MEDIA_ROOT": str(disks["first"] / "media")}) as (first, _), \
            procfile_server(project, SETTINGS, 1, "/products/", extra_env={
                **broker, "SHOP_REPORTS_DIR": str(disks["second"]),
                "MEDIA_ROOT": str(disks["second"] / "media")}) as (second, _):
        jobs = {fmt: _ask_for_report(visitor, first, fmt) for fmt in REPORT_FORMATS}
        for fmt, status_url in jobs.items():
            state = _wait_until_done(visitor, second + status_url)
            assert state.get("state") == "ready", (
                f"a {fmt} report asked of one app server is {state.get('state')!r} on the "
                "other" + ("" if state.get("state") == "failed" else f" after {READY_WITHIN} s")
                + ", while the worker finished it: each machine "
                "looks for the file on its own disk, where only the worker's machine has it "
                "[hint 1]")
            answers = {}
            for name, base in (("the other", second), ("the same", first)):
                status, body, where = visitor.ask(base + state["download"])
                assert status == 200 and body, (
                    f"the ready {fmt} report, downloaded from {name} app server, answered "
                    f"{status}" + (f" at {where.split('?')[0]}" if not where.startswith(base)
                                   else "") + ": a private bucket's file is read with the "
                    "keys, by the view (or through a URL the storage signs) [hint 3]")
                answers[name] = body
            assert answers["the other"] == answers["the same"], (
                f"the {fmt} report downloaded from the two app servers differs")
            served[fmt] = (answers["the other"], answers["the same"])
        unknown = f"/reports/jobs/{uuid.uuid4()}/download"
        for base in (first, second):
            status, _, _ = visitor.ask(base + unknown)
            assert status == 404, f"the download of a job that does not exist answered {status}"
    assert served["pdf"][0].startswith(b"%PDF") and b"," in served["csv"][0], (
        "the downloads are not a CSV and a PDF")

    on_disk = {name: files for name, files in _files_under(disks).items() if files}
    assert not on_disk, (
        f"the reports were also written on a machine's disk ({next(iter(on_disk))}: "
        f"{next(iter(on_disk.values()))[0]}): a machine's disk is gone with the machine, and "
        "fills up on each. Keep the files in the object store only [hint 2]")
    s3 = objectstore.client(endpoint)
    job_ids = [url.rstrip("/").rsplit("/", 1)[-1] for url in jobs.values()]
    kept = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
            if any(job in item["Key"] for job in job_ids)]
    media = values.get("AWS_STORAGE_BUCKET_NAME") or objectstore.GRADING_BUCKET
    public = [item["Key"] for item in s3.list_objects_v2(Bucket=media).get("Contents", [])
              if any(job in item["Key"] for job in job_ids)]
    assert not public, (
        f"the report {public[0]} is in the media bucket, which anyone may read: sales figures "
        f"for whoever guesses an address. Keep them in the private bucket, SHOP_REPORTS_BUCKET "
        "[hint 3]")
    assert len(kept) == len(REPORT_FORMATS), (
        f"the private reports bucket (SHOP_REPORTS_BUCKET, {bucket}) holds {kept or 'nothing'} "
        "of the two jobs: the files are kept somewhere else [hint 2]")
    for key in kept:
        status, _, _ = Visitor().ask(f"{endpoint}/{bucket}/{key}")
        assert status in (401, 403), (
            f"{key} in the reports bucket answered {status} to a request without the keys "
            "[hint 3]")
    measured(f"{len(served)} of {len(REPORT_FORMATS)} reports served by the other app server",
             target="both, nothing on any disk, private", unit="")


# 11.3 ---------------------------------------------------------------------------------------

BALANCER = balancing.BALANCER_ADDRESS  # the grader's requests come from there: it plays it
CDN_HOP = balancing.CDN_HOP  # a proxy in front of the balancer, trusted too
VISITOR = balancing.VISITOR
FORGED = balancing.FORGED_ADDRESS
FORWARDED_CASES = balancing.FORWARDED_CASES
LINE_WITHIN = 10.0
_ask = balancing.ask


def _client_of(base: str, request_id: str, what: str) -> object:
    """The ``client`` field of the JSON line of request ``request_id``."""
    line = balancing.logged_line(base, request_id, LINE_WITHIN)
    assert line, (f"{what} left no JSON line with its request id on standard output within "
                  f"{LINE_WITHIN:g} s: 10.2's request lines are needed here")
    assert "client" in line, (
        f"{what}: its request line has no client field (the line: "
        f"{json.dumps(line)[:240]}). Log the visitor's address as client [hint 2]")
    return line["client"]


def _next_link(base: str, scheme: str) -> str:
    status, body = _ask(base, balancing.API_PAGE, {"X-Forwarded-Proto": scheme})
    assert status == 200, (
        f"{balancing.API_PAGE}, marked X-Forwarded-Proto: {scheme}, answered {status}")
    link = json.loads(body).get("next") or ""
    assert link, f"{balancing.API_PAGE} gave no next link"
    return link


def test_11_3_believes_only_its_proxy(project, measured):
    project.collect_static()
    trusted = {"TRUSTED_PROXIES": f"{BALANCER},{CDN_HOP}"}
    with procfile_server(project, SETTINGS, 1, "/products/", extra_env=trusted) as (base, _):
        secure, plain = _next_link(base, "https"), _next_link(base, "http")
        assert secure.startswith("https://"), (
            f"the balancer marked a visitor's request X-Forwarded-Proto: https, and the API's "
            f"next link is {secure}: Django believes every request came over http, so the "
            "links it builds send https visitors to http. Tell it which header says https "
            "[hint 1]")
        assert plain.startswith("http://"), (
            f"a request marked X-Forwarded-Proto: http got the next link {plain}: take the "
            "scheme from the header, do not write https everywhere [hint 1]")
        clients = {}
        for number, (what, forwarded, wanted) in enumerate(FORWARDED_CASES):
            request_id = f"grading-forwarded-{number}-{uuid.uuid4().hex[:8]}"
            headers = {"X-Request-ID": request_id}
            if forwarded is not None:
                headers["X-Forwarded-For"] = forwarded
            status, _ = _ask(base, "/products/", headers)
            assert status == 200, f"{what} answered {status}"
            client = _client_of(base, request_id, what)
            clients[what] = client
            assert client == wanted, (
                f"{what} (from {BALANCER}, trusted, with X-Forwarded-For: "
                f"{forwarded or 'none'}) was logged as client {client!r}, not {wanted}: "
                + ("the first address is the one the visitor wrote; read the list from the "
                   "right" if client == FORGED else
                   "a trusted proxy is a hop, not the visitor: skip each trusted address from "
                   "the right" if client == CDN_HOP else
                   "the visitor is the address the balancer appended") + " [hint 2]"
                if forwarded else f"{what} was logged as client {client!r}, not {wanted}, "
                "the address it came from [hint 2]")
    untrusted = {"TRUSTED_PROXIES": CDN_HOP}  # the grader's address is no proxy of the shop's
    with procfile_server(project, SETTINGS, 1, "/products/", extra_env=untrusted) as (base, _):
        request_id = f"grading-direct-{uuid.uuid4().hex[:8]}"
        _ask(base, "/products/", {"X-Request-ID": request_id, "X-Forwarded-For": VISITOR})
        client = _client_of(base, request_id, "a request from an address that is no proxy")
    measured(f"client {clients[FORWARDED_CASES[2][0]]} for a forged X-Forwarded-For; {client} "
             f"from an untrusted address", target=f"{VISITOR}; {BALANCER}", unit="")
    assert client == BALANCER, (
        f"a request from {BALANCER}, which TRUSTED_PROXIES ({CDN_HOP}) does not name, claimed "
        f"X-Forwarded-For: {VISITOR} and was logged as client {client!r}: anyone who reaches "
        "an instance directly chooses their address. Believe X-Forwarded-For only from the "
        "proxies' addresses [hint 3]")


# 11.4 ---------------------------------------------------------------------------------------

STALE_WITHIN = 0.7  # s after a commit: the replica (1 s behind) cannot have it yet
STALE_TRIES = 4  # a read slower than that proves nothing: try again with another product
CAUGHT_UP_WITHIN = 20.0  # s for the replica to show what the primary has
PIN_SECONDS = 2  # DATABASE_REPLICA_PIN_SECONDS for the graders' server
MAIL_WITHIN = 20.0
SQLITE_PROBE = """
from django.db import connection
from shop.models import Product
report(vendor=connection.vendor, products=Product.objects.count())
"""


def _new_product():
    """A product put on sale on the primary now, committed."""
    from shop.models import Product

    model = Product.objects.order_by("pk").first()
    tag = uuid.uuid4().hex[:10]
    return Product.objects.create(category=model.category, name=f"Grading {tag}",
                                  slug=f"grading-{tag}", description="", price=model.price,
                                  stock=1)


def _page_right_after_write(visitor: Visitor, base: str) -> tuple[int, float]:
    """Put a product on sale on the primary and ask for its page at once: the status, and
    how long after the commit the answer came."""
    product = _new_product()
    started = time.monotonic()
    status, _, _ = visitor.ask(f"{base}/products/{product.slug}/")
    return status, time.monotonic() - started


def _reads_replica(visitor: Visitor, base: str) -> bool | None:
    """Whether ``visitor``'s next page reads the replica: a product added on the primary a
    moment ago is not there yet (404), and is on the primary (200). None: every try was
    too slow to tell."""
    for _ in range(STALE_TRIES):
        status, took = _page_right_after_write(visitor, base)
        assert status in (200, 404), f"a product's page answered {status}"
        if took <= STALE_WITHIN:
            return status == 404
    return None


def _lag(visitor: Visitor, base: str) -> float:
    """Seconds from a commit on the primary until a replica read shows it."""
    product = _new_product()
    started = time.monotonic()
    while time.monotonic() - started < CAUGHT_UP_WITHIN:
        status, _, _ = visitor.ask(f"{base}/products/{product.slug}/")
        if status == 200:
            return time.monotonic() - started
        time.sleep(0.05)
    pytest.fail(f"a product added on the primary was still not on its page after "
                f"{CAUGHT_UP_WITHIN:g} s: the reads go to a database that replication does "
                "not feed (DATABASE_REPLICA_URL names the replica) [hint 1]", pytrace=False)


def _message_of(line: str) -> str:
    """A log line's message: the JSON line's (10.2), or the line itself."""
    try:
        return str(json.loads(line)["message"])
    except (ValueError, KeyError, TypeError):
        return line.strip()


def _order_again(visitor: Visitor, base: str, customer) -> tuple[int, str]:
    """Press "Order again" on the customer's dashboard: the status and page landed on."""
    import dashboard_page

    status, page, _ = visitor.ask(f"{base}/customers/{customer.pk}/")
    assert status == 200, f"the customer's dashboard answered {status}"
    html = page.decode("utf-8", "replace")
    listed = dashboard_page.shown(html).orders
    assert listed, "the customer's dashboard lists no orders"
    press = dashboard_page.order_again(html, listed[0][0])
    assert press, f"the dashboard has no \"Order again\" button for order #{listed[0][0]}"
    status, page, _ = visitor.ask(base + press.action, press.data)
    return status, page.decode("utf-8", "replace")


@pytest.mark.django_db(transaction=True)
def test_11_4_reads_from_the_replica(project, shop, workers, measured):
    import dashboard_page
    from background import database_env, graders_broker_env, start_project_worker
    from conftest import graders_env
    from django.db import connection
    from project_runner import ProjectRunError
    from shop.models import Order

    assert connection.vendor == "postgresql", (
        "11.4 is graded on PostgreSQL, the only database it exists on (run `python3 -m course "
        "check 11.4`, which starts it)")
    replica = graders_env().get("GRADING_REPLICA_URL")
    assert replica, ("the read replica is not running (python3 -m course services up "
                     "replica): this grader needs it")
    try:
        found = project.probe(SETTINGS, SQLITE_PROBE)
    except ProjectRunError as error:
        pytest.fail(
            f"without a replica (on SQLite, with no DATABASE_REPLICA_URL), the production "
            f"settings no longer work: {str(error).split(': ', 1)[-1]}. Add the replica only "
            "when it is configured, on PostgreSQL [hint 1]", pytrace=False)
    assert found["products"], "without a replica, the shop found no products"

    shop(scale="tiny")
    primary = database_env()["DATABASE_URL"]
    on_replica = replicas.on_replica(primary, replica)
    assert replicas.replicated(on_replica, "SELECT count(*) FROM shop_order",
                               Order.objects.count(), CAUGHT_UP_WITHIN), (
        f"the replica did not show the test database's orders within {CAUGHT_UP_WITHIN:g} s: "
        "is it streaming from the course's PostgreSQL? (python3 -m course services status)")
    customer = Order.objects.order_by("pk").first().customer
    broker = graders_broker_env()
    replica_env = {"DATABASE_URL": primary, "DATABASE_REPLICA_URL": on_replica,
                   "DATABASE_REPLICA_PIN_SECONDS": str(PIN_SECONDS)}
    worker = start_project_worker(project, workers, {
        **broker, **replica_env, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(workers.mail.port)})
    project.collect_static()
    with procfile_server(project, SETTINGS, 1, "/products/",
                         extra_env={**broker, **replica_env}) as (base, _):
        stranger = Visitor()
        assert _reads_replica(stranger, base) is not False, (
            "a product put on sale on the primary a moment ago was already on its page for a "
            "visitor who had written nothing: that read went to the primary. Send reads to "
            "the replica (a router in DATABASE_ROUTERS) [hint 2]")
        lag = _lag(stranger, base)

        customer_visitor = Visitor()
        status, page = _order_again(customer_visitor, base, customer)
        wrote_at = time.monotonic()
        assert status == 200, (
            f"pressing \"Order again\" answered {status} (the server logged "
            f"{load.logged_exception(base) or 'nothing'}): every write goes to the primary, the "
            "replica refuses them [hint 2]")
        newest = Order.objects.filter(customer=customer).order_by("-pk").first()
        listed = [pk for pk, _, _ in dashboard_page.shown(page).orders]
        assert newest.pk in listed, (
            f"right after placing order #{newest.pk}, the customer landed on a dashboard "
            f"without it (it lists {', '.join(f'#{pk}' for pk in listed[:3])} …): the page "
            f"was read from the replica, {lag:.1f} s behind the primary. A visitor who has "
            "just written reads the primary [hint 3]")
        other = Visitor()
        assert _reads_replica(other, base) is not False, (
            "right after one customer placed an order, another visitor's page was read from "
            "the primary: pin the visitor who wrote, not the process [hint 3]")
        assert _reads_replica(customer_visitor, base) is not True, (
            "the customer who had just placed an order read their next page from the "
            "replica: the pin must last for DATABASE_REPLICA_PIN_SECONDS, over the "
            "following requests, not only the redirect [hint 3]")
        time.sleep(max(0.0, PIN_SECONDS + 0.5 - (time.monotonic() - wrote_at)))
        assert _reads_replica(customer_visitor, base) is not False, (
            f"{PIN_SECONDS + 0.5:g} s after the order, with DATABASE_REPLICA_PIN_SECONDS="
            f"{PIN_SECONDS}, the customer's pages were still read from the primary: the pin "
            "never ends, and every customer who ever bought anything loads the primary "
            "[hint 3]")

    waited = time.monotonic()
    mails, said = [], ""
    while time.monotonic() - waited < MAIL_WITHIN and not mails:
        mails = [m for m in workers.mail.messages(customer.email)
                 if f"#{newest.pk}" in str(m["Subject"])]
        said = next((_message_of(line) for line in worker.log().splitlines()
                     if f"order {newest.pk} " in line), "")
        if said:  # the task gave up on the order
            break
        time.sleep(0.2)
    measured(f"the new order on the page landed on, with the replica {lag:.2f} s behind",
             target="the order shown, other visitors on the replica", unit="")
    assert mails, (
        f"the confirmation of order #{newest.pk} never reached the customer (the worker "
        f"logged: {said or f'nothing about it in {MAIL_WITHIN:g} s'}): the task "
        "looks for the order a moment after it was placed, and on the replica it is not "
        "there yet. Outside a visitor's request, read the primary [hint 3]")


# 11.5 ---------------------------------------------------------------------------------------

# What each of manifests.BACKING_SERVICES stands for here: each must select pods of the
# manifests, or name a managed one (type ExternalName).
BACKING_ROLES = {"redis": "Redis", "postgres": "PostgreSQL",
                 "postgres-replica": "the read replica (11.4)",
                 "objectstore": "the object store (07.5, 11.2)"}
SECRET_VARIABLES = ("DJANGO_SECRET_KEY", "DATABASE_URL")
# A database file in a folder that does not exist: every connection fails at once (a
# PostgreSQL that does not answer fails too, but only after the pool's timeout).
UNREACHABLE_DATABASE = "/nonexistent-course-folder/shop.sqlite3"
HEALTH_PROBE = """
from django.test import Client
client = Client()
report(**{path: client.get(path).status_code for path in %s})
"""


def _succeeds(status: int) -> bool:
    """What the kubelet takes for a passing HTTP probe."""
    return 200 <= status < 400


def _the_container(workload: dict, what: str) -> dict:
    found = manifests.containers(workload)
    assert found, f"{what} has no container"
    return found[0]


def _check_topology(resources) -> tuple[dict, dict]:
    """The web and worker containers, once every piece of the topology is there."""
    web = resources.named("Deployment", "web")
    assert web, "there is no Deployment named web: the app servers [hint 1]"
    service = resources.named("Service", "web")
    assert service and web in resources.selected_by(service), (
        "no Service named web selects the web Deployment's pods: nothing in the cluster can "
        "reach them [hint 1]")
    assert "web" in resources.ingress_services(), (
        "no Ingress sends visitors to the web Service: the balancer of 11.1 has no "
        "counterpart, and the shop is unreachable from outside the cluster [hint 1]")
    worker = resources.running("celery", "worker")
    assert worker, (
        "no Deployment runs `celery -A config worker`: the orders' emails and the reports "
        "(chapter 06) would wait in the queue forever [hint 1]")
    for name in manifests.BACKING_SERVICES:
        what = BACKING_ROLES[name]
        backing = resources.named("Service", name)
        assert backing, (f"there is no Service named {name}, for {what}: the shop's "
                         "settings reach each backing service by such a name [hint 1]")
        if backing.get("spec", {}).get("type") == "ExternalName":
            continue
        assert resources.selected_by(backing), (
            f"the Service {name} ({what}) selects no pods of the manifests: its selector "
            f"{backing.get('spec', {}).get('selector')} matches no workload's pod labels. "
            "Describe the workload, or name a managed one (type: ExternalName) [hint 1]")
    replicas = web.get("spec", {}).get("replicas", 1)
    assert replicas >= 2, (
        f"the web Deployment runs {replicas} replica: a node that fails, or a rolling "
        "update, leaves the shop without an app server [hint 2]")
    return _the_container(web, "the web Deployment"), _the_container(worker, "the worker")


def _check_settings(resources, web: dict, worker: dict) -> None:
    kept = [item["metadata"].get("name") for item in resources.of_kind("Secret")
            if item.get("data") or item.get("stringData")]
    assert not kept, (
        f"the manifests hold the Secret {kept[0]} with its values: anyone who can read the "
        "repository reads them. Make the Secret on the cluster, and refer to it [hint 2]")
    for what, container in (("web", web), ("worker", worker)):
        written = [name for name, _ in manifests.written_values(container)
                   if any(word in name for word in manifests.SECRET_WORDS)]
        assert not written, (
            f"the {what} container's {written[0]} is written in the manifest: anyone who can "
            "read the repository has it. Take it from a Secret (valueFrom.secretKeyRef) "
            "[hint 2]")
    for name in SECRET_VARIABLES:
        assert manifests.from_secret(web, name), (
            f"the web container does not get {name} from a Secret [hint 2]")
    for name in ("TRUSTED_PROXIES", "DATABASE_REPLICA_URL"):
        assert manifests.configured(web, resources, name), (
            f"the web container is not given {name}, which the production settings read "
            f"({'11.3' if name == 'TRUSTED_PROXIES' else '11.4'}) [hint 2]")
    for what, container in (("web", web), ("worker", worker)):
        requests = (container.get("resources") or {}).get("requests") or {}
        missing = [kind for kind in ("cpu", "memory") if kind not in requests]
        assert not missing, (
            f"the {what} container requests no {missing[0]}: the scheduler places its pods "
            "blind, and they are the first evicted when a node runs short [hint 3]")


def test_11_5_describes_the_topology(project, target_dir, measured):
    try:
        errors = manifests.validate(target_dir)
        resources = manifests.read(target_dir)
    except manifests.ManifestError as error:
        pytest.fail(f"{error} [hint 1]", pytrace=False)
    assert not errors, (
        f"kubernetes-validate --strict (Kubernetes {manifests.KUBERNETES_VERSION}) rejects "
        f"{len(errors)} resource{'s' if len(errors) > 1 else ''}: {errors[0]} [hint 1]")
    web, worker = _check_topology(resources)
    _check_settings(resources, web, worker)

    paths = {probe: manifests.probe_path(web, probe)
             for probe in ("readinessProbe", "livenessProbe")}
    for probe, path in paths.items():
        assert path and manifests.probe_port_served(web, probe), (
            f"the web container has no {probe} that asks one of its ports over HTTP: the "
            "cluster cannot tell " + ("whether a pod may get traffic" if probe ==
                                      "readinessProbe" else "whether a pod must be restarted")
            + " [hint 3]")
    ready, alive = paths["readinessProbe"], paths["livenessProbe"]
    project.collect_static()
    with procfile_server(project, SETTINGS, 1, "/products/") as (base, _):
        for probe, path in paths.items():
            status, _ = _ask(base, path, {})
            assert _succeeds(status), (
                f"the {probe} asks {path}, which the shop answers {status}: the cluster would "
                + ("never send the pods traffic" if probe == "readinessProbe" else
                   "restart every pod, again and again") + " [hint 3]")
    without_database = project.probe(SETTINGS, HEALTH_PROBE % repr([ready, alive]),
                                     COURSE_SQLITE_PATH=UNREACHABLE_DATABASE)
    measured(f"{len(resources.items)} resources valid; with the database unreachable, "
             f"{ready} {without_database[ready]} and {alive} {without_database[alive]}",
             target="ready fails, alive passes", unit="")
    assert _succeeds(without_database[alive]), (
        f"with the database unreachable, the livenessProbe's {alive} answers "
        f"{without_database[alive]}: during a database outage the cluster would restart every "
        "pod, which helps nothing and adds a stampede of new connections when it is back. "
        "Liveness asks only whether the process answers (10.6's /healthz) [hint 3]")
    assert not _succeeds(without_database[ready]), (
        f"with the database unreachable, the readinessProbe's {ready} answers "
        f"{without_database[ready]}: the cluster keeps sending visitors to pods that can only "
        "fail them. Readiness asks what no page can do without (10.6's /readyz) [hint 3]")


# 11.6 ---------------------------------------------------------------------------------------

FAILURES_ALLOWED = 3  # SHOP_SIGN_IN_FAILURES_ALLOWED for the graders' instances
LOCKOUT_SECONDS = 6  # SHOP_SIGN_IN_LOCKOUT_SECONDS for them
STAFF_PASSWORD = "grading-right-password"


def _staff(username: str):
    """A staff member whose password the production settings' hasher can check, and checks
    fast (few iterations): the graders' own settings hash with MD5, which production refuses."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.contrib.auth.models import User

    hasher = PBKDF2PasswordHasher()
    return User.objects.create(username=username, is_staff=True, is_superuser=True,
                               password=hasher.encode(STAFF_PASSWORD, hasher.salt(), 1000))


def _check_one_session(first: str, second: str, username: str) -> Visitor:
    staff = Visitor({"X-Forwarded-For": random_address()})
    signed = staff.sign_in(first, username, STAFF_PASSWORD)
    assert signed.status == 200 and signed.path == "/admin/", (
        f"signing in to the admin with the right password answered {signed.status} at "
        f"{signed.path}, not the admin's index")
    assert staff.signed_in(second), (
        "signed in through one instance, the next request, through the other, was sent to "
        "the sign-in page: the session is kept where only the first instance sees it (files "
        "on its disk, or its memory). Keep sessions in Redis or the database (05.6) [hint 1]")
    return staff


def _check_shared_invalidation(first: str, second: str, customer) -> int:
    import dashboard_page
    from shop.models import Order

    visitor = Visitor()
    status, _, _ = visitor.ask(f"{second}/customers/{customer.pk}/")
    assert status == 200, f"the customer's dashboard answered {status}"
    status, _ = _order_again(visitor, first, customer)
    assert status == 200, f"pressing \"Order again\" answered {status}"
    newest = Order.objects.filter(customer=customer).order_by("-pk").first()
    status, page, _ = visitor.ask(f"{second}/customers/{customer.pk}/")
    listed = [pk for pk, _, _ in dashboard_page.shown(page.decode("utf-8", "replace")).orders]
    assert newest.pk in listed, (
        f"order #{newest.pk}, placed through one instance, is missing from the dashboard the "
        "other instance shows: that instance cached the orders before, and the change removed "
        "the copy only from the first one's cache. A cache in each process's memory is one "
        "cache per process: use Redis (05.1) [hint 1]")
    return newest.pk


def _check_shared_pictures(first: str, second: str, staff: Visitor, product) -> None:
    from admin_forms import form_data
    from pictures import noisy_png, shown

    change = f"/admin/shop/product/{product.pk}/change/"
    status, page, _ = staff.ask(first + change)
    assert status == 200, f"the admin's change form of a product answered {status}"
    picture = noisy_png(11, (64, 48))
    name = f"grading-{uuid.uuid4().hex[:10]}.png"
    saved = staff.answer(first + change, form_data(page.decode(), "product_form"),
                         files={"image": Upload(name, picture, "image/png")})
    assert saved.status == 200 and saved.path != change, (
        f"saving a picture in the admin answered {saved.status} at {saved.path}")
    status, page, _ = Visitor().ask(f"{second}/products/{product.slug}/")
    found = shown(page.decode(), name)
    assert status == 200 and found, (
        f"a picture uploaded through one instance is not on the product's page that the "
        f"other shows ({status}) [hint 1]")
    address = found[0]
    shown = Visitor().answer(address if "://" in address else second + address)
    assert shown.status == 200 and shown.body == picture, (
        f"a picture uploaded through one instance, linked by the other at {address}, "
        f"answered {shown.status} there: it was kept on the first instance's disk, which the "
        "other cannot read. Keep uploads in the object store (07.5) [hint 1]")


def _refused(answer) -> bool:
    return answer.status == 429


def _fail(visitor: Visitor, bases: list[str], username: str) -> None:
    """A wrong password through each of ``bases`` in turn: none of them may be refused yet."""
    for failed, base in enumerate(bases):
        refused = _refused(visitor.sign_in(base, username, "a-wrong-guess"))
        assert not (refused and failed == 0), (
            "a visitor whose sign-ins had never failed was refused, because another visitor's "
            "had: count each address on its own (the address is REMOTE_ADDR, which 11.3's "
            "middleware sets from X-Forwarded-For) [hint 3]")
        assert not refused, (
            f"a visitor was refused after {failed} failed sign-ins, before "
            f"SHOP_SIGN_IN_FAILURES_ALLOWED={FAILURES_ALLOWED}: count failures only, and refuse "
            "the next try once there are that many [hint 2]")


def _check_sign_in_limit(first: str, second: str, guessed: str, other_user: str) -> str:
    alone = Visitor({"X-Forwarded-For": random_address()})
    _fail(alone, [first] * FAILURES_ALLOWED, guessed)
    refused = alone.sign_in(first, guessed, STAFF_PASSWORD)
    assert _refused(refused), (
        f"after SHOP_SIGN_IN_FAILURES_ALLOWED={FAILURES_ALLOWED} failed sign-ins through one "
        f"instance, the next try, through the same one, answered {refused.status}, not 429: "
        "one failure too many is allowed, or none is refused [hint 2]")
    retry_after = refused.headers.get("Retry-After", "")
    assert retry_after.isdigit() and 0 < int(retry_after) <= LOCKOUT_SECONDS, (
        f"the refusal said Retry-After: {retry_after or '(nothing)'}: say in how many seconds "
        f"the visitor may try again (at most SHOP_SIGN_IN_LOCKOUT_SECONDS={LOCKOUT_SECONDS}) "
        "[hint 2]")

    address = random_address()
    guesser = Visitor({"X-Forwarded-For": address})
    started = time.monotonic()  # this visitor's first failure: its lockout counts from here
    _fail(guesser, [first, second] * (FAILURES_ALLOWED // 2) + [first] * (FAILURES_ALLOWED % 2),
          guessed)
    let_in = [base for base in (second, first)
              if not _refused(guesser.sign_in(base, guessed, STAFF_PASSWORD))]
    assert not let_in, (
        f"after {FAILURES_ALLOWED} failed sign-ins spread over two instances, the same visitor "
        f"was let try again through {'both' if len(let_in) == 2 else 'one of them'}: each "
        "process counts the failures it saw, so a guesser gets the limit once per process. "
        "Keep the count in the cache every instance shares [hint 1]")
    forged = Visitor({"X-Forwarded-For": f"{random_address()}, {address}"})
    assert _refused(forged.sign_in(first, guessed, STAFF_PASSWORD)), (
        "the refused visitor tried again with a made-up first entry in X-Forwarded-For, and "
        "was let try: the count is keyed on what the client wrote. Key it on the visitor's "
        "address, REMOTE_ADDR, which 11.3's middleware sets [hint 3]")
    other = Visitor({"X-Forwarded-For": random_address()})
    assert not _refused(other.sign_in(second, other_user, STAFF_PASSWORD)), (
        "while one visitor was refused, another visitor, from another address, was refused "
        "too: count each address on its own (and the address is REMOTE_ADDR, which 11.3's "
        "middleware sets from X-Forwarded-For) [hint 3]")
    assert time.monotonic() - started < LOCKOUT_SECONDS, (
        f"the sign-ins took over {LOCKOUT_SECONDS} s: the machine is too busy to tell")
    time.sleep(max(0.0, LOCKOUT_SECONDS + 1 - (time.monotonic() - started)))
    later = guesser.sign_in(second, guessed, STAFF_PASSWORD)
    assert not _refused(later) and later.path == "/admin/", (
        f"{LOCKOUT_SECONDS + 1} s after the visitor's failures, with "
        f"SHOP_SIGN_IN_LOCKOUT_SECONDS={LOCKOUT_SECONDS}, the right password was still "
        f"refused ({later.status}): the count never expires, and an address that once "
        "failed is shut out for good (an office behind one address with it). Give the "
        "count the lockout as its timeout [hint 3]")
    return retry_after


@pytest.mark.django_db(transaction=True)
def test_11_6_one_shop_on_every_instance(project, shop, tmp_path, measured):
    from background import database_env, graders_broker_env
    from conftest import graders_env
    from shop.models import Order, Product

    assert graders_env().get("AWS_S3_ENDPOINT_URL"), (
        "the object store is not running (python3 -m course services up objectstore): this "
        "grader needs it")
    shop(scale="tiny")
    staff_user, guessed, other_user = (_staff(f"grading-{role}-{uuid.uuid4().hex[:6]}")
                                       for role in ("staff", "guessed", "other"))
    customer = Order.objects.order_by("pk").first().customer
    product = Product.objects.order_by("pk").first()
    shared = {**graders_broker_env(), **database_env(), "TRUSTED_PROXIES": BALANCER,
              "SHOP_SIGN_IN_FAILURES_ALLOWED": str(FAILURES_ALLOWED),
              "SHOP_SIGN_IN_LOCKOUT_SECONDS": str(LOCKOUT_SECONDS)}
    project.collect_static()
    with procfile_server(project, SETTINGS, 1, "/products/",
                         extra_env={**shared, **shared_state.own_machine(tmp_path / "first")}) as (first, _), \
            procfile_server(project, SETTINGS, 1, "/products/",
                            extra_env={**shared, **shared_state.own_machine(tmp_path / "second")}) as (second, _):
        staff = _check_one_session(first, second, staff_user.username)
        _check_shared_invalidation(first, second, customer)
        _check_shared_pictures(first, second, staff, product)
        retry_after = _check_sign_in_limit(first, second, guessed.username, other_user.username)
    measured(f"refused on both instances after {FAILURES_ALLOWED} failures spread over them "
             f"(Retry-After: {retry_after}); sessions, caches and pictures shared",
             target="one count, one session, one cache", unit="")
