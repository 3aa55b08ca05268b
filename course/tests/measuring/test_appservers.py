"""gunicorn's timeout cuts a stuck sync request and not a gthread one; a project's
gunicorn.conf.py is read as gunicorn reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.measuring import appservers, load


def test_the_sync_timeout_cuts_a_stuck_request_and_gthread_does_not() -> None:
    sync = appservers.stuck_request("sync", timeout=1, seconds=3)
    threads = appservers.stuck_request("gthread", timeout=1, seconds=3)
    assert sync["answer"] != 200 and sync["seconds"] < 2.9 and sync["worker_timeout_logged"]
    assert threads["answer"] == 200 and threads["seconds"] >= 3
    assert not threads["worker_timeout_logged"]


def test_settings_are_what_gunicorn_makes_of_the_file(tmp_path: Path) -> None:
    (tmp_path / "gunicorn.conf.py").write_text(
        "import os\nworkers = int(os.environ.get('WEB_CONCURRENCY', 7))\nkeepalive = 65\n")
    found = appservers.gunicorn_settings(tmp_path)
    assert list(found) == list(appservers.CONFIG_NAMES)
    assert (found["workers"], found["keepalive"], found["timeout"]) == ("7", "65", "30")
    assert appservers.gunicorn_settings(tmp_path, WEB_CONCURRENCY="3")["workers"] == "3"
    rows = appservers.settings_table({"a": tmp_path})
    assert rows[0] == {"setting": "workers", "a": "7"}


def test_a_broken_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "gunicorn.conf.py").write_text("workers = (\n")
    with pytest.raises(load.LoadError, match="could not read"):
        appservers.gunicorn_settings(tmp_path)
