"""What the course's two nginx services share (the CDN stand-in of chapter 07, the load
balancer of chapter 11): nginx in front of the app servers, configured by one of the
project's templates, rendered again at each start (``course.services.nginx``)."""

from __future__ import annotations

import sys
from typing import ClassVar

from course import paths
from course.services import nginx
from course.services.base import Finding, Instance, Program, ServiceError, data_dir
from course.services.http_service import HttpService


class NginxFront(HttpService):
    """nginx with the project's ``deploy/nginx/<template>``, listening on the port the
    template calls ``${<listen_as>}``; it exists only once the project has the template."""

    template: ClassVar[str]
    listen_as: ClassVar[str]
    requires = ("appserver",)
    reads_env_file = True  # the app servers' addresses come from APP_URLS

    def doctor(self) -> list[Finding]:
        try:
            return [Finding("ok", self.name, f"nginx: {nginx.binary()}")]
        except ServiceError as error:
            return [Finding("fix", self.name, str(error))]

    def available(self) -> bool:
        return (paths.STARTER / nginx.TEMPLATES / self.template).is_file()

    def program(self, instance: Instance) -> Program:
        folder = data_dir(instance.id)
        return Program(
            f"{sys.executable} -m course.services.nginx --port {instance.port} "
            f"--listen-as {self.listen_as} --folder {folder} --template {self.template}",
            environment={"PYTHONPATH": str(paths.ROOT)},
            stop_signal="QUIT",  # a graceful shutdown: answer what is in flight
        )
