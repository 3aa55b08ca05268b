"""The load balancer: `services up balancer` puts nginx, configured by the project's
`lb.conf.template`, in front of every app server instance, and follows `--scale`.

A stand-in project: its WSGI app answers with the id of the instance that served it
(``SHOP_INSTANCE``, which the app server plug-in sets).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from course import envfile, paths

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


def _course(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "course", "services", *args], cwd=paths.ROOT,
                          env=env, capture_output=True, text=True, timeout=180)


def _instances_answering(url: str, requests: int) -> set[str]:
    answered = set()
    for _ in range(requests):
        with urllib.request.urlopen(url, timeout=10) as response:
            answered.add(response.read().decode())
    return answered


def test_balancer_spreads_over_every_instance_and_follows_the_scale(tmp_path: Path) -> None:
    home, project = tmp_path / "state", tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "config" / "__init__.py").write_text("")
    (project / "config" / "wsgi.py").write_text(STAND_IN_WSGI)
    (project / "deploy" / "nginx").mkdir(parents=True)
    (project / "deploy" / "nginx" / "lb.conf.template").write_text(TEMPLATE)
    env = {k: v for k, v in os.environ.items() if k != "COURSE_DB"}
    env.update(COURSE_HOME=str(home), COURSE_STARTER=str(project), PYTHONPATH=str(paths.ROOT))
    try:
        scaled = _course(env, "up", "appserver", "--scale", "2")
        assert scaled.returncode == 0, scaled.stderr
        started = _course(env, "up", "balancer")
        assert started.returncode == 0, started.stderr
        shop = envfile.read(home / "env")["SHOP_URL"]
        assert _instances_answering(shop, 6) == {"appserver-1", "appserver-2"}

        rescaled = _course(env, "up", "appserver", "--scale", "3")
        assert rescaled.returncode == 0, rescaled.stderr
        assert _instances_answering(shop, 9) == {"appserver-1", "appserver-2", "appserver-3"}
    finally:
        _course(env, "down")
