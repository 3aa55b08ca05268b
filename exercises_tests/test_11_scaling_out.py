"""Chapter 11 — Scaling out: graders.

11.1 runs nginx with the project's ``deploy/nginx/lb.conf.template`` twice. First in front
of two recording upstreams, which keep every connection and every request nginx sends
them: 60 requests from one address must reach both, over a few kept-open HTTP/1.1
connections, each carrying the visitor's Host, address, scheme and a fresh request id.
Then in front of two real instances of the shop, started from its Procfile: visitors
keep asking while one instance is killed, and none of them may get an error.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from procfile_server import procfile_server

from course.measuring import balancing

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

    instances = []
    project.collect_static()  # what a release does before the instances start
    with procfile_server(project, SETTINGS, 1, "/products/") as first, \
            procfile_server(project, SETTINGS, 1, "/products/") as second:
        urls = [first[0], second[0]]
        outcome, answered = balancing.load_while_killing(
            target_dir, urls, second[1], tmp_path / "balancer", users=LOAD_USERS,
            seconds=LOAD_SECONDS, at=KILL_AT)
        instances = [answered.get(url.removeprefix("http://"), 0) for url in urls]
    measured(f"{outcome.lost} of {outcome.sent} failed; {opened} connections for "
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
