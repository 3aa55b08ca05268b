"""The shop itself under gunicorn: ``config.wsgi:application`` from ``starter_project/``, as
many instances as asked for (``services up appserver --scale 3``).

Each instance is one gunicorn master with its own port and an id (the
``SHOP_INSTANCE`` variable: ``appserver-1``, ``appserver-2`` …), so a load
balancer in front of them, and the learner, can tell them apart. They run the
production settings, allowed on 127.0.0.1, and read the services' addresses
from ``.course/env``; ``APP_URLS`` lists their addresses. Each start collects the static
files first (``course.services.release``), as a deploy's release step does. Everything else
(timeouts, logs, worker recycling) is the project's ``gunicorn.conf.py`` (chapter 08), which
gunicorn reads in ``starter_project/``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from course import local_secret, paths
from course.services.base import Instance, Program
from course.services.http_service import HttpService

WORKERS_PER_INSTANCE = 2


class AppServer(HttpService):
    name = "appserver"
    summary = "gunicorn serving starter_project/ (config.wsgi), one or more instances"
    preferred_port = 8100
    scalable = True
    requires = ("redis", "smtp")
    reads_env_file = True
    health_timeout = 30.0

    def binaries(self) -> list[str]:
        return ["gunicorn"]

    def program(self, instance: Instance) -> Program:
        from course import envfile

        # Behind the course's CDN (`services up cdn`), the pages name the files there.
        cdn = envfile.read().get("CDN_URL")
        static = {"STATIC_URL": f"{cdn}/static/"} if cdn else {}
        return Program(
            f"{sys.executable} -m course.services.release "  # collectstatic first
            f"{sys.executable} -m gunicorn config.wsgi:application "
            f"--bind 127.0.0.1:{instance.port} --no-control-socket",
            directory=paths.STARTER,
            environment={
                "PYTHONPATH": os.pathsep.join([str(paths.STARTER), str(paths.ROOT)]),
                "DJANGO_SETTINGS_MODULE": "config.settings.production",
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                # what a platform gives a production process, which the settings refuse to
                # start without (chapter 12): a strong secret key kept outside the
                # repository, and the database by name (the shop's own unless one is set)
                "DJANGO_SECRET_KEY": local_secret.secret_key(),
                # plain http on this machine, the course's balancer included: nothing in
                # front ends TLS, so no redirect to https and no Secure-only cookies
                "DJANGO_HTTPS": "off",
                "COURSE_SQLITE_PATH": os.environ.get("COURSE_SQLITE_PATH")
                or str(paths.STATE / "shop.sqlite3"),
                "SHOP_INSTANCE": instance.id,
                # the course's balancer (`services up balancer`) is on this machine: the one
                # proxy whose X-Forwarded-For the shop may believe (chapter 11)
                "TRUSTED_PROXIES": "127.0.0.1",
                # the rest comes from the project's gunicorn.conf.py (chapter 08), which
                # takes its worker count from here: a laptop runs several instances
                "WEB_CONCURRENCY": str(WORKERS_PER_INSTANCE),
                **static,
            },
        )

    def publishes(self, instances: Sequence[Instance]) -> dict[str, str]:
        return {"APP_URLS": ",".join(self.url(instance) for instance in instances)}


SERVICE = AppServer()
