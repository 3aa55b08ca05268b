"""What the services that answer HTTP share: the app servers, the CDN."""

from __future__ import annotations

import http.client
from typing import ClassVar

from course.services import logs
from course.services.base import Instance, Service


class HttpService(Service):
    """A service that answers HTTP: healthy once any answer comes back (a 404 or a 500 still
    means it serves; the page's own error is in the log), and its problem is the log's last
    line."""

    health_path: ClassVar[str] = "/"

    def url(self, instance: Instance) -> str:
        return f"http://127.0.0.1:{instance.port}"

    def healthy(self, instance: Instance) -> bool:
        if instance.port is None:
            return False
        connection = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=5)
        try:
            connection.request("GET", self.health_path, headers={"Host": "127.0.0.1"})
            return connection.getresponse().status > 0
        except OSError:
            return False
        finally:
            connection.close()

    def problem(self, instance: Instance) -> str:
        lines = [line for line in logs.text(instance.id).splitlines() if line.strip()]
        return lines[-1].strip() if lines else "no output"
