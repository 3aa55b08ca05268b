"""App-server instances: `services up appserver --scale 2` really serves, each instance apart.

Written as MAINTAINERS.md's "Adding a service" says: the plug-in module, and
this test, which starts it for real in a throw-away COURSE_HOME (a stand-in
project whose WSGI app says which instance answered).
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
    return [os.environ["SHOP_INSTANCE"].encode()]
'''



def test_scaled_app_servers_serve_with_their_own_ids(tmp_path: Path) -> None:
    home, project, env = stand_in_project(tmp_path, STAND_IN_WSGI)
    try:
        started = course_services(env, "up", "appserver", "--scale", "2")
        assert started.returncode == 0, started.stderr
        assert "appserver-1" in started.stdout and "appserver-2" in started.stdout
        urls = envfile.read(home / "env")["APP_URLS"].split(",")
        assert len(urls) == 2 and len(set(urls)) == 2
        answers = {urllib.request.urlopen(url, timeout=10).read().decode() for url in urls}
        assert answers == {"appserver-1", "appserver-2"}

        again = course_services(env, "up")  # remembered: a plain `up` keeps both instances
        assert again.returncode == 0 and "appserver-2" in again.stdout
        assert envfile.read(home / "env")["APP_URLS"].split(",") == urls

        stopped = course_services(env, "down", "appserver")
        assert stopped.returncode == 0, stopped.stderr
        assert "appserver-1" not in course_services(env, "status").stdout
    finally:
        course_services(env, "down")
