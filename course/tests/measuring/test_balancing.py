"""The balancer measurements: a real nginx, from a template, in front of recording upstreams;
the access-log reading; a steady load that kills something halfway."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.measuring import balancing
from course.services import nginx
from course.services.base import ServiceError

ROUND_ROBIN = """
upstream app { ${APP_SERVERS} }
server {
    listen 127.0.0.1:${LB_PORT};
    location / { proxy_pass http://app; proxy_set_header Host $host; }
}
"""


def _project(tmp_path: Path, template: str) -> Path:
    project = tmp_path / "project"
    (project / nginx.TEMPLATES).mkdir(parents=True)
    (project / balancing.TEMPLATE).write_text(template)
    return project


def _require_nginx() -> None:
    try:
        nginx.binary()
    except ServiceError as error:
        pytest.skip(str(error))


def test_one_visitor_is_spread_and_recorded(tmp_path: Path) -> None:
    _require_nginx()
    project = _project(tmp_path, ROUND_ROBIN)
    upstreams = [balancing.RecordingUpstream("a"), balancing.RecordingUpstream("b")]
    statuses = balancing.one_visitor(project, upstreams, 10)
    assert statuses == [200] * 10
    assert [len(u.requests) for u in upstreams] == [5, 5]
    seen = upstreams[0].requests[0]
    assert seen.headers["host"] == balancing.VISITOR_HOST
    # Not passed on by this template: nginx forwards the client's own header untouched.
    assert seen.headers["x-forwarded-for"] == balancing.FORGED_ADDRESS
    assert sum(u.connections for u in upstreams) <= 4  # nginx >= 1.29.7 keeps them open


def test_a_variant_replaces_text_and_refuses_a_missing_one(tmp_path: Path) -> None:
    project = _project(tmp_path, ROUND_ROBIN)
    with balancing.template_variant(project, {"proxy_pass http://app;":
                                              "proxy_pass http://app; proxy_http_version 1.0;"}
                                    ) as variant:
        assert "proxy_http_version 1.0" in (variant / balancing.TEMPLATE).read_text()
    with pytest.raises(ValueError, match="no 'ip_hash"):
        with balancing.template_variant(project, {"ip_hash;": ""}):
            pass


def test_what_instances_see_reports_a_template_nginx_refuses(tmp_path: Path) -> None:
    _require_nginx()
    project = _project(tmp_path, ROUND_ROBIN.replace("proxy_pass", "proxy_passs"))
    [row] = balancing.what_instances_see({"broken": project}, requests=2)
    assert "proxy_passs" in row["problem"]


def test_answered_by_counts_the_instance_that_finally_answered(tmp_path: Path) -> None:
    (tmp_path / "access.log").write_text(
        '127.0.0.1 "GET / HTTP/1.1" 200 5 cache=- upstream=127.0.0.1:1 time=0.001 encoding=-\n'
        '127.0.0.1 "GET / HTTP/1.1" 200 5 cache=- upstream=127.0.0.1:2, 127.0.0.1:1 '
        'time=0.002 encoding=-\n'
        '127.0.0.1 "GET / HTTP/1.1" 404 0 cache=- upstream=- time=0.000 encoding=-\n')
    assert balancing.answered_by(tmp_path) == {"127.0.0.1:1": 2}


def test_steady_load_counts_what_failed_after_the_action(tmp_path: Path) -> None:
    upstream = balancing.RecordingUpstream("only")
    with upstream.serving():
        base = f"http://{upstream.address}"
        outcome = balancing.steady_load(base, "/", users=2, seconds=0.6)
    assert outcome.lost == 0 and outcome.sent == len(upstream.requests) > 0
    stopped = balancing.steady_load(base, "/", users=2, seconds=0.3)  # nobody listens now
    assert stopped.lost == stopped.sent > 0 and stopped.failures[0].startswith(
        ("ConnectionRefusedError", "ConnectionResetError"))


def test_an_answer_cut_off_part_way_is_counted_apart_from_the_lost() -> None:
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def half_answers() -> None:  # a status line and headers, then the process "dies"
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")

    threading.Thread(target=half_answers, daemon=True).start()
    try:
        outcome = balancing.steady_load(f"http://127.0.0.1:{port}", "/", users=1, seconds=0.3)
    finally:
        listener.close()
    assert outcome.cut == outcome.sent > 0 and outcome.lost == 0
