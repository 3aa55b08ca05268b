"""The CDN stand-in: `services up cdn` puts nginx, configured by the project's template, in
front of a running app server, and the app server names its static files at the CDN.

A stand-in project: its WSGI app counts the requests it answers, and its template caches
/static/ (what exercise 07.4 asks of the shop's).
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

from course import envfile
from course.tests.services.stand_in import course_services, stand_in_project

STAND_IN_WSGI = '''
import os
from pathlib import Path

SEEN = Path(__file__).resolve().parent.parent / "answered.txt"


def application(environ, start_response):
    if environ["PATH_INFO"] == "/static-url":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [os.environ.get("STATIC_URL", "unset").encode()]
    with SEEN.open("a") as seen:  # every worker process appends: one line per request answered
        seen.write(environ["PATH_INFO"] + "\\n")
    start_response("200 OK", [("Content-Type", "text/css"), ("Cache-Control", "max-age=600")])
    return [b"/* the shop's styles */"]
'''

TEMPLATE = '''
proxy_cache_path ${CACHE_DIR} levels=1:2 keys_zone=test_files:1m;
server {
    listen 127.0.0.1:${CDN_PORT};
    location /static/ {
        proxy_pass http://${APP_ADDRESS};
        proxy_cache test_files;
    }
}
'''



def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def test_cdn_caches_in_front_of_the_app_server(tmp_path: Path) -> None:
    home, project, env = stand_in_project(tmp_path, STAND_IN_WSGI, {"cdn.conf.template": TEMPLATE})
    try:
        started = course_services(env, "up", "cdn")
        assert started.returncode == 0, started.stderr
        published = envfile.read(home / "env")
        cdn, app = published["CDN_URL"], published["APP_URLS"].split(",")[0]
        assert _get(f"{app}/static-url") == f"{cdn}/static/"
        for _ in range(3):
            assert _get(f"{cdn}/static/shop.css") == "/* the shop's styles */"
        answered = (project / "answered.txt").read_text().splitlines()
        assert answered.count("/static/shop.css") == 1, "the CDN passed on more than the first"

        (project / "deploy" / "nginx" / "cdn.conf.template").write_text(
            TEMPLATE.replace("proxy_cache test_files;", "proxy_cache ${NO_SUCH_VALUE};"))
        broken = course_services(env, "restart", "cdn")
        status = course_services(env, "status").stdout
        assert "NO_SUCH_VALUE" in broken.stdout + broken.stderr + status
    finally:
        course_services(env, "down")
