"""Run the target project in a fresh process under a chosen settings module.

Graders that must see what development or production really serve (the
debug toolbar, a profiler, security headers) cannot switch settings inside
one test process; this runs a real request through ``django.test.Client`` in
a subprocess, against a small seeded SQLite database made once per session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from course import paths, statefiles

MARK = "@@course-result@@"

REQUEST_SCRIPT = """
import json, sys
import django
django.setup()
from django.conf import settings
from django.test import Client

secure = sys.argv[1] == "1"
client = Client(raise_request_exception=False)
for path in sys.argv[2:]:
    response = client.get(path, secure=secure)
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    print(%(mark)r + json.dumps({
        "path": path,
        "status": response.status_code,
        "headers": dict(response.items()),
        "body": body.decode("utf-8", "replace"),
        "debug": settings.DEBUG,
        "installed_apps": list(settings.INSTALLED_APPS),
        "middleware": list(settings.MIDDLEWARE),
        "error": (f"{response.exc_info[0].__name__}: {response.exc_info[1]}"[:300]
                  if getattr(response, "exc_info", None) else ""),
    }))
""".replace("%(mark)r", repr(MARK))


PROBE_PREFIX = """
import json, sys
import django
django.setup()
def report(**values):
    print(%(mark)r + json.dumps(values, default=str))
""".replace("%(mark)r", repr(MARK))


SEED_SCRIPT = """
import django
django.setup()
from django.core.management import call_command
from django.test.utils import override_settings
# Seeding clears every cache, and the project's code run by migrating may use it too; the
# graders' Redis holds what the test under way stored there.
with override_settings(CACHES={"default": {
        "BACKEND": "django.core.cache.backends.dummy.DummyCache"}}):
    call_command("migrate", interactive=False, verbosity=0)
    call_command("seed_shop", scale="tiny", verbosity=0)
"""


class ProjectRunError(AssertionError):
    """The project could not run; the message is its last error line."""


@dataclass
class ProjectResponse:
    path: str
    status: int
    headers: dict[str, str]
    body: str
    debug: bool
    installed_apps: list[str] = field(default_factory=list)
    middleware: list[str] = field(default_factory=list)
    error: str = ""  # the exception behind a 500, as the server would have logged it


def _flush_grading_redis() -> None:
    url = os.environ.get("REDIS_URL")
    if not url:
        return
    import redis

    try:
        redis.Redis.from_url(url).flushdb()
    except redis.exceptions.ConnectionError:
        pass  # the project will say so itself if it needs Redis


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


@dataclass
class ProjectRunner:
    target: Path
    workdir: Path
    exercises_dir: Path = Path(__file__).resolve().parent
    _responses: dict[tuple[str, str, bool], ProjectResponse] = field(default_factory=dict)
    _collected: Path | None = None

    def env(self, settings_module: str, database: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "COURSE_DB"}}
        env.update(
            DJANGO_SETTINGS_MODULE=settings_module,
            COURSE_SQLITE_PATH=str(database),
            PYTHONPATH=paths.pythonpath(self.target, self.exercises_dir),
            COURSE_TARGET_DIR=str(self.target),
            DJANGO_SECRET_KEY="grading-only-secret-key-" + "x" * 40,
            DJANGO_ALLOWED_HOSTS="testserver,localhost,127.0.0.1",
            # served over plain http on 127.0.0.1, with no proxy that ends TLS (chapter 12)
            DJANGO_HTTPS="off",
            STATIC_ROOT=str(self.static_root),
        )
        return env

    @property
    def static_root(self) -> Path:
        return self._collected or self.workdir / "static_root"

    def collect_static(self) -> None:
        """``collectstatic`` under the production settings, what a release does before its
        servers start: into a folder kept (under ``.course/cache/``) while the target's static
        files and settings, and Django, stay the same. Servers only read it."""
        if self._collected is not None:
            return
        import django

        key = statefiles.digest_files(self.target, ["static/**/*", "config/settings/*.py"])

        def collect(folder: Path) -> None:
            self.run("config.settings.production",
                     ["manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                     self.workdir / "collectstatic.sqlite3", {"STATIC_ROOT": str(folder)})

        self._collected = statefiles.kept(paths.STATE / "cache" / "static",
                                          f"{key}-django{django.__version__}", collect)

    def run(self, settings_module: str, args: list[str], database: Path,
            extra_env: dict[str, str | None] | None = None) -> str:
        """Run python with ``args``; ``extra_env`` adds variables (None takes one away)."""
        env = {**self.env(settings_module, database), **(extra_env or {})}
        completed = subprocess.run(
            [sys.executable, *args],
            cwd=self.target,
            env={key: value for key, value in env.items() if value is not None},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if completed.returncode != 0:
            raise ProjectRunError(
                f"{settings_module} failed: {_last_line(completed.stderr or completed.stdout)}"
            )
        return completed.stdout

    def seeded_database(self) -> Path:
        """A migrated SQLite database with the tiny shop, copied per use from a template kept
        (under ``.course/cache/``) while the target's migrations and seeding code last."""
        key = statefiles.digest_files(self.target, [
            "**/migrations/*.py", "shop/seed*.py", "shop/management/commands/seed_shop.py"])
        template = statefiles.kept(
            paths.STATE / "cache" / "seeded", f"tiny-{key}.sqlite3",
            lambda path: self.run("grading_settings", ["-c", SEED_SCRIPT], path))
        copy = self.workdir / f"db-{len(list(self.workdir.glob('db-*')))}.sqlite3"
        shutil.copy(template, copy)
        return copy

    @staticmethod
    def empty_cache() -> None:
        """Empty the graders' Redis database, the project's cache while it is graded: the next
        request meets every cache cold, as after an expiry or a restart."""
        _flush_grading_redis()

    def prepare(self) -> None:
        """Make the seeded database now, before a test stores anything in Redis: what a probe
        finds must not depend on whether an earlier test already made it."""
        self.seeded_database().unlink()

    def probe(self, settings_module: str, code: str, **extra_env: str | None) -> dict:
        """Run ``code`` in a fresh process under ``settings_module`` (plus ``extra_env``; a
        variable set to None is taken away); it calls ``report(key=value, …)`` once, and the
        values come back as a dict."""
        self.collect_static()
        output = self.run(settings_module, ["-c", PROBE_PREFIX + code], self.seeded_database(),
                          extra_env)
        lines = [line for line in output.splitlines() if line.startswith(MARK)]
        if not lines:
            raise ProjectRunError(f"{settings_module}: the probe reported nothing")
        return json.loads(lines[-1][len(MARK):])

    def get_many(
        self, settings_module: str, paths: list[str], *, secure: bool = False
    ) -> list[ProjectResponse]:
        """GET each path in one fresh process configured by ``settings_module``."""
        missing = [p for p in paths if (settings_module, p, secure) not in self._responses]
        if missing:
            _flush_grading_redis()  # a page cached under other settings must not be served
            self.collect_static()
            output = self.run(
                settings_module,
                ["-c", REQUEST_SCRIPT, "1" if secure else "0", *missing],
                self.seeded_database(),
            )
            for line in output.splitlines():
                if line.startswith(MARK):
                    response = ProjectResponse(**json.loads(line[len(MARK) :]))
                    self._responses[(settings_module, response.path, secure)] = response
        try:
            return [self._responses[(settings_module, p, secure)] for p in paths]
        except KeyError as missing_path:
            raise ProjectRunError(f"{settings_module}: no response for {missing_path}") from None

    def get(self, settings_module: str, path: str, *, secure: bool = False) -> ProjectResponse:
        """GET ``path`` with the project configured by ``settings_module``."""
        return self.get_many(settings_module, [path], secure=secure)[0]

    @contextmanager
    def serve(self, settings_module: str = "config.settings.production", *,
              workers: int = 2, access_log: Path | None = None,
              extra_env: dict[str, str] | None = None, asgi: bool = False) -> Iterator[str]:
        """The project under gunicorn (``config.wsgi``; with ``asgi``, ``config.asgi`` in
        uvicorn's workers) on the tiny shop, with the static files collected: yields its base
        URL. ``access_log`` records every request it answers; ``extra_env`` adds variables
        (``STATIC_URL`` …)."""
        from course.measuring import load

        self.collect_static()
        _flush_grading_redis()
        env = {**self.env(settings_module, self.seeded_database()), **(extra_env or {})}
        extra = ["--access-logfile", str(access_log)] if access_log else []
        app = "config.wsgi:application"
        if asgi:
            app, extra = "config.asgi:application", [*extra, "--worker-class", load.ASGI_WORKER]
        with load.gunicorn(app, env, cwd=self.target, workers=workers,
                           probe_path="/products/", extra_args=extra) as base:
            yield base
