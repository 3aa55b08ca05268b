"""A Procfile's web line is read as a platform reads it and served with PORT and
WEB_CONCURRENCY set; stopping it stops everything its shell started."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from course.measuring import appservers, load, procfile
from course.measuring.visits import fetch

# A web process that says what the platform told it, through a shell that stays its parent.
ECHO_SERVER = (
    "web: python -c \"import http.server as h, os; "
    "B = type('B', (h.BaseHTTPRequestHandler,), {'do_GET': lambda s: (s.send_response(200), "
    "s.end_headers(), s.wfile.write((os.environ['WEB_CONCURRENCY'] + ' ' + str(os.getpid()))"
    ".encode())), 'log_message': lambda *a: None}); "
    "h.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), B).serve_forever()\"; echo stopped\n"
)


def test_process_lines_and_what_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text(
        "# a comment: web: not a process\nweb:  granian config.wsgi:application  \n"
        "worker: celery -A config worker\n")
    assert procfile.processes(tmp_path) == {"web": "granian config.wsgi:application",
                                            "worker": "celery -A config worker"}
    assert procfile.command(tmp_path, "worker") == "celery -A config worker"


def test_the_program_is_the_one_a_set_up_line_hands_over_to(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text(
        'web: export DIR="${TMPDIR:-/tmp}/m" && mkdir -p "$DIR" && exec granian --workers 2 app\n'
        "worker: celery -A config worker\n")
    assert procfile.program(tmp_path) == "granian"
    assert procfile.program(tmp_path, "worker") == "celery"


def test_missing_file_or_line_says_which(tmp_path: Path) -> None:
    with pytest.raises(procfile.ProcfileError, match="does not exist"):
        procfile.command(tmp_path)
    (tmp_path / "Procfile").write_text("worker: celery -A config worker\n")
    with pytest.raises(procfile.ProcfileError, match=r"no `web:` line \(it has: worker\)"):
        procfile.command(tmp_path)


def test_served_with_port_and_workers_and_stopped_whole(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text(ECHO_SERVER)
    with procfile.serve(tmp_path, dict(os.environ), workers=3) as (base, _):
        said, pid = fetch(base + "/").body.decode().split()
        assert said == "3"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the shell's child is gone with the shell
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f"the web process {pid} outlived the stop")


def test_a_server_listening_elsewhere_is_told_so_without_the_whole_wait(tmp_path: Path) -> None:
    from course.services import free_port

    elsewhere = free_port()
    (tmp_path / "Procfile").write_text(
        f"web: python -m http.server {elsewhere} --bind 127.0.0.1\n")
    started = time.monotonic()
    with pytest.raises(load.LoadError, match=f"listens on port {elsewhere}, not on"):
        with procfile.serve(tmp_path, dict(os.environ), within=30):
            pass
    assert time.monotonic() - started < 15


def test_workers_counted_by_the_processes_that_answer() -> None:
    with load.serve_floor(workers=2) as base:
        first = appservers.processes_answering(base, "/pid/?seconds=0.05")
        again = appservers.processes_answering(base, "/pid/?seconds=0.05")
    assert len(first) == 2 and first == again


def test_a_recycled_worker_is_not_counted() -> None:
    with load.serve_floor(workers=2, extra_args=["--max-requests", "10"]) as base:
        answered = appservers.processes_answering(base, "/pid/?seconds=0.01", requests=60)
    assert len(answered) <= 2
