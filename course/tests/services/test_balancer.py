"""The load balancer: `services up balancer` puts nginx, configured by the project's
`lb.conf.template`, in front of every app server instance, and follows `--scale`.

A stand-in project: its WSGI app answers with the id of the instance that served it
(``SHOP_INSTANCE``, which the app server plug-in sets).
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

from course import envfile
from course.tests.services.stand_in import course_services, stand_in_project

STAND_IN_WSGI = '''
import os


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [os.environ.get("SHOP_INSTANCE", "unset").encode()]
'''

TEMPLATE = '''
# Filled in by the course: ${LB_PORT} and ${APP_SERVERS}.
upstream stand_in {
    ${APP_SERVERS}
}
server {
    listen 127.0.0.1:${LB_PORT};
    location / {
        proxy_pass http://stand_in;
    }
}
'''



def _instances_answering(url: str, requests: int) -> set[str]:
    answered = set()
    for _ in range(requests):
        with urllib.request.urlopen(url, timeout=10) as response:
            answered.add(response.read().decode())
    return answered


def test_balancer_spreads_over_every_instance_and_follows_the_scale(tmp_path: Path) -> None:
    home, project, env = stand_in_project(tmp_path, STAND_IN_WSGI, {"lb.conf.template": TEMPLATE})
    try:
        scaled = course_services(env, "up", "appserver", "--scale", "2")
        assert scaled.returncode == 0, scaled.stderr
        started = course_services(env, "up", "balancer")
        assert started.returncode == 0, started.stderr
        shop = envfile.read(home / "env")["SHOP_URL"]
        assert _instances_answering(shop, 6) == {"appserver-1", "appserver-2"}

        rescaled = course_services(env, "up", "appserver", "--scale", "3")
        assert rescaled.returncode == 0, rescaled.stderr
        assert _instances_answering(shop, 9) == {"appserver-1", "appserver-2", "appserver-3"}
    finally:
        course_services(env, "down")
