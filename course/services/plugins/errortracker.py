"""A Sentry-compatible error tracker for the shop's errors (chapter 10): Bugsink, from PyPI.

Bugsink speaks Sentry's event protocol, so the shop reports to it with the ordinary
``sentry-sdk``, and it keeps issues and events in SQLite, with a web UI and a read API.
It pins its own gunicorn and brings packages the shop never uses, so it lives in a virtual
environment of its own (``errortracker-requirements.txt``), made the first time the service
starts and shared by every course home on the machine (``.course/tools/bugsink``).

The course runs it the way its local set-up does: one process, events digested as they
arrive, one user. ``services up errortracker`` creates that user (``admin`` / ``admin``), the
project ``shop`` (its DSN published as ``SENTRY_DSN``) and an API token the graders read
issues with. Like the object store's keys, the project's key and the token are fixed: the
tracker listens on 127.0.0.1 only, and the DSN is then known before the first start.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from course import paths, venvs
from course.services.base import Instance, Program, ServiceError, data_dir
from course.services.http_service import HttpService

REQUIREMENTS = Path(__file__).resolve().parent.parent / "errortracker-requirements.txt"
TOOLS = paths.ROOT / ".course" / "tools" / "bugsink"
SETTINGS_MODULE = "course_bugsink_settings"
USER, PASSWORD = "admin", "admin"
PROJECT = "shop"
PROJECT_KEY = uuid.uuid5(uuid.NAMESPACE_URL, "django-under-load/errortracker/shop").hex
TOKEN = hashlib.sha1(b"django-under-load/errortracker/token").hexdigest()  # 40 hex digits

SETTINGS = '''"""Bugsink's settings for the course (written by the errortracker service; edits are lost)."""

import os

from bugsink.settings.default import *  # noqa: F403

SECRET_KEY = {secret!r}
DATABASES["default"]["NAME"] = {database!r}  # noqa: F405
DATABASES["snappea"]["NAME"] = {snappea!r}  # noqa: F405
TIME_ZONE = "UTC"
SNAPPEA = {{"TASK_ALWAYS_EAGER": True, "WAKEUP_CALLS_DIR": {wakeup!r}}}
EMAIL_BACKEND = "bugsink.email_backends.QuietConsoleEmailBackend"
BUGSINK = {{
    "BASE_URL": "http://127.0.0.1:" + os.environ["BUGSINK_PORT"],
    "DIGEST_IMMEDIATELY": True,
    "INGEST_STORE_BASE_DIR": {ingest!r},
    "SINGLE_USER": True,
    "SINGLE_TEAM": True,
    "USER_REGISTRATION": "CB_NOBODY",
}}
'''

# Run in Bugsink's own Python by `bugsink-manage shell`: the user, the team, the project
# (with the key the course chose, so the DSN is known before it starts) and a token.
SETUP = '''
import json
from django.contrib.auth import get_user_model
from bsmain.models import AuthToken
from projects.models import Project
from teams.models import Team

wanted = WANTED  # noqa: F821 (set by the caller)
users = get_user_model()
if not users.objects.filter(username=wanted["user"]).exists():
    users.objects.create_superuser(wanted["user"], "admin@example.org", wanted["password"])
team, _ = Team.objects.get_or_create(name="course")
project = Project.objects.filter(name=wanted["project"]).first()
if project is None:
    project = Project.objects.create(name=wanted["project"], team=team,
                                     sentry_key=wanted["key"])
if not AuthToken.objects.filter(token=wanted["token"]).exists():
    AuthToken.create_full_access(token=wanted["token"], description="course graders")
print("COURSE-SETUP " + json.dumps({"project": project.id, "key": str(project.sentry_key)}))
'''


def folder() -> Path:
    return data_dir("errortracker")


def _state_file() -> Path:
    return folder() / "course.json"


def state() -> dict[str, Any]:
    """What was set up for this home: Bugsink's secret key, the project's id, and for which
    install."""
    try:
        return json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return {}


def python() -> Path:
    return paths.venv_python(TOOLS)


def _bin(name: str) -> Path:
    return python().parent / name


def ensure_installed(quiet: bool = False) -> None:
    """Bugsink's own virtual environment, made or brought up to date from its pinned list."""
    try:
        venvs.ensure_tool(TOOLS, REQUIREMENTS, "Bugsink", quiet=quiet)
    except venvs.VenvError as error:
        raise ServiceError(f"Bugsink could not be installed: {error}") from None


def _environment(port: int | None) -> dict[str, str]:
    return {"DJANGO_SETTINGS_MODULE": SETTINGS_MODULE, "PYTHONPATH": str(folder()),
            "BUGSINK_PORT": str(port or 0)}


def manage(*args: str, timeout: float = 120) -> str:
    """``bugsink-manage`` with the course's settings; its output, or ServiceError."""
    done = subprocess.run([str(_bin("bugsink-manage")), *args], cwd=folder(),
                          env={**os.environ, **_environment(None)}, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise ServiceError(f"bugsink-manage {args[0]} failed: {' '.join(last) or 'no output'}"
                           f" (Bugsink's data: {folder()})")
    return done.stdout


def _api(port: int, path: str) -> Any:
    """GET from Bugsink's API with the course's token, as JSON."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


class ErrorTracker(HttpService):
    name = "errortracker"
    summary = "Sentry-compatible error tracker (Bugsink, in a venv of its own): the shop's errors"
    preferred_port = 8290
    health_timeout = 60.0
    health_path = "/health/ready"
    essential = False

    def prepare(self, quiet: bool) -> None:
        ensure_installed(quiet)
        base = folder()
        for sub in ("ingestion", "wakeup"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        chosen = state()
        if "secret" not in chosen:
            chosen = {"secret": secrets.token_urlsafe(50)}
        (base / f"{SETTINGS_MODULE}.py").write_text(SETTINGS.format(
            secret=chosen["secret"], database=str(base / "bugsink.sqlite3"),
            snappea=str(base / "snappea.sqlite3"), wakeup=str(base / "wakeup"),
            ingest=str(base / "ingestion")))
        # Once per install: the tables, then the user, the project (with the course's key, so
        # that its DSN is known before the server starts) and the graders' token.
        installed = venvs.requirements_digest(REQUIREMENTS)
        if chosen.get("prepared") == installed and (base / "bugsink.sqlite3").exists():
            return
        if not quiet:
            print("course: setting up Bugsink's database (once) …", flush=True)
        manage("migrate", "--no-input", "-v0")
        manage("migrate", "--no-input", "-v0", "--database", "snappea")
        wanted = {"user": USER, "password": PASSWORD, "project": PROJECT,
                  "key": PROJECT_KEY, "token": TOKEN}
        output = manage("shell", "-c", f"WANTED = {wanted!r}\n{SETUP}")
        found = json.loads(output.split("COURSE-SETUP ", 1)[1].splitlines()[0])
        if found["key"].replace("-", "") != PROJECT_KEY:
            raise ServiceError(f"Bugsink's project {PROJECT!r} has another key than the "
                               f"course chose: remove {base} and start it again")
        _state_file().write_text(json.dumps({**chosen, "project": found["project"],
                                             "prepared": installed}))

    def program(self, instance: Instance) -> Program:
        return Program(
            f"{_bin('gunicorn')} --bind 127.0.0.1:{instance.port} --workers 1 --threads 4 "
            "--no-control-socket --graceful-timeout 3 bugsink.wsgi",
            directory=folder(), environment=_environment(instance.port), stop_wait_seconds=5)

    def publishes(self, instances: Sequence[Instance]) -> dict[str, str]:
        # The first project of a new database is number 1; set-up says so if it is not.
        project = state().get("project", 1)
        return {"SENTRY_DSN": f"http://{PROJECT_KEY}@127.0.0.1:{instances[0].port}/{project}"}


def issues(port: int, project: int) -> list[dict[str, Any]]:
    """The project's issues, newest first, read through Bugsink's API."""
    return _api(port, f"/api/canonical/0/issues/?project={project}")["results"]


def events(port: int, issue: str) -> list[dict[str, Any]]:
    """One issue's events, each with its whole payload (tags, request, exception …)."""
    listed = _api(port, f"/api/canonical/0/events/?issue={issue}")["results"]
    return [_api(port, f"/api/canonical/0/events/{event['id']}/") for event in listed]



def address(dsn: str) -> tuple[int, int]:
    """The tracker's port and the project's number, from a DSN it published."""
    parts = urllib.parse.urlsplit(dsn)
    if not parts.port or not parts.path.strip("/").isdigit():
        raise ServiceError(f"{dsn!r} is not a DSN of the course's error tracker")
    return parts.port, int(parts.path.strip("/"))


def search(port: int, project: int, query: str) -> list[dict[str, Any]]:
    """The project's events that match ``query`` in Bugsink's search, newest first, each with
    its whole payload: plain words match the title (the exception or the message), and
    ``key:value`` a tag (``request_id:abc``)."""
    quoted = urllib.parse.quote(query)
    found: list[dict[str, Any]] = []
    for issue in _api(port, f"/api/canonical/0/issues/?project={project}&q={quoted}")["results"]:
        listed = _api(port, f"/api/canonical/0/events/?issue={issue['id']}&q={quoted}")
        found.extend(_api(port, f"/api/canonical/0/events/{event['id']}/")
                     for event in listed["results"])
    return sorted(found, key=lambda event: event.get("ingested_at", ""), reverse=True)


def tags(event: dict[str, Any]) -> dict[str, str]:
    """An event's tags (from :func:`events` or :func:`search`) as a dict: Sentry's protocol
    allows a dict or a list of ``[key, value]`` pairs."""
    found = event.get("data", {}).get("tags") or {}
    if isinstance(found, list):
        found = {pair[0]: pair[1] for pair in found if len(pair) == 2}
    return found


SERVICE = ErrorTracker()
