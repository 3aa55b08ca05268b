"""App-server instances: `services up appserver --scale 2` really serves, each instance apart.

Written as MAINTAINERS.md's "Adding a service" says: the plug-in module, and
this test, which starts it for real in a throw-away COURSE_HOME (a stand-in
project whose WSGI app says which instance answered).
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
    return [os.environ["SHOP_INSTANCE"].encode()]
'''


def _course(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "course", "services", *args], cwd=paths.ROOT,
                          env=env, capture_output=True, text=True, timeout=180)


def test_scaled_app_servers_serve_with_their_own_ids(tmp_path: Path) -> None:
    home, project = tmp_path / "state", tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "config" / "__init__.py").write_text("")
    (project / "config" / "wsgi.py").write_text(STAND_IN_WSGI)
    env = {k: v for k, v in os.environ.items() if k != "COURSE_DB"}
    env.update(COURSE_HOME=str(home), COURSE_STARTER=str(project), PYTHONPATH=str(paths.ROOT))
    try:
        started = _course(env, "up", "appserver", "--scale", "2")
        assert started.returncode == 0, started.stderr
        assert "appserver-1" in started.stdout and "appserver-2" in started.stdout
        urls = envfile.read(home / "env")["APP_URLS"].split(",")
        assert len(urls) == 2 and len(set(urls)) == 2
        answers = {urllib.request.urlopen(url, timeout=10).read().decode() for url in urls}
        assert answers == {"appserver-1", "appserver-2"}

        again = _course(env, "up")  # remembered: a plain `up` keeps both instances
        assert again.returncode == 0 and "appserver-2" in again.stdout
        assert envfile.read(home / "env")["APP_URLS"].split(",") == urls

        stopped = _course(env, "down", "appserver")
        assert stopped.returncode == 0, stopped.stderr
        assert "appserver-1" not in _course(env, "status").stdout
    finally:
        _course(env, "down")
