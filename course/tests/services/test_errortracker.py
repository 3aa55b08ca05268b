"""The error tracker: `services up errortracker` installs Bugsink in a venv of its own, sets
up its database, user, project and API token once, publishes the project's DSN as
SENTRY_DSN, and an error sent there with sentry-sdk is read back through Bugsink's API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from course import envfile, paths
from course.services.plugins import errortracker

SEND = """
import sys
import sentry_sdk

sentry_sdk.init(dsn=sys.argv[1], environment="course-test")
sentry_sdk.set_tag("request_id", "req-0123456789")
try:
    {}["no such key"]
except KeyError as error:
    sentry_sdk.capture_exception(error)
sentry_sdk.flush(10)
"""


def _course(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "course", "services", *args], cwd=paths.ROOT,
                          env=env, capture_output=True, text=True, timeout=600)


def test_an_error_sent_with_sentry_sdk_is_read_back_with_its_tags(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k != "COURSE_DB"}
    env.update(COURSE_HOME=str(home), PYTHONPATH=str(paths.ROOT))
    try:
        started = _course(env, "up", "errortracker")
        assert started.returncode == 0, started.stdout + started.stderr
        assert "errortracker  running  healthy" in started.stdout, started.stdout
        dsn = envfile.read(home / "env")["SENTRY_DSN"]
        sent = subprocess.run([str(errortracker.python()), "-c", SEND, dsn],
                              capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0, sent.stderr

        monkeypatch.setattr(paths, "STATE", home)
        port, project = errortracker.address(dsn)
        assert (port, project) == (urlsplit(dsn).port, int(urlsplit(dsn).path.strip("/")))
        found = errortracker.issues(port, project)
        assert [(issue["calculated_type"], issue["calculated_value"]) for issue in found] == [
            ("KeyError", "'no such key'")]
        event = errortracker.events(port, found[0]["id"])[0]["data"]
        assert event["tags"] == {"request_id": "req-0123456789"}
        assert event["environment"] == "course-test"
        for query, count in (("request_id:req-0123456789", 1), ("no such key", 1),
                             ("request_id:req-another", 0)):
            assert len(errortracker.search(port, project, query)) == count, query
        with pytest.raises(errortracker.ServiceError, match="not a DSN"):
            errortracker.address("http://key@127.0.0.1:8290/")

        again = _course(env, "up", "errortracker")  # set up once: a second start is quick
        assert again.returncode == 0 and "setting up Bugsink" not in again.stdout
        assert envfile.read(home / "env")["SENTRY_DSN"] == dsn
    finally:
        _course(env, "down")
