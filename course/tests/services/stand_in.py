"""What the services' tests share: `python3 -m course services …` run in a throw-away
COURSE_HOME, and a stand-in project (a WSGI app, and nginx templates) for the app server
and the nginx services to run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from course import paths


def course_services(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "course", "services", *args], cwd=paths.ROOT,
                          env=env, capture_output=True, text=True, timeout=180)


def throwaway_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a course whose state lives in ``home``."""
    env = {k: v for k, v in os.environ.items() if k != "COURSE_DB"}
    env.update(COURSE_HOME=str(home), PYTHONPATH=str(paths.ROOT), **extra)
    return env


def stand_in_project(root: Path, wsgi: str, templates: dict[str, str] | None = None
                     ) -> tuple[Path, Path, dict[str, str]]:
    """A project under ``root`` whose ``config.wsgi`` is ``wsgi`` and whose
    ``deploy/nginx/`` holds ``templates`` (file name → text): the course's home, the
    project, and the environment that runs the course on them."""
    home, project = root / "state", root / "project"
    (project / "config").mkdir(parents=True)
    (project / "config" / "__init__.py").write_text("")
    (project / "config" / "wsgi.py").write_text(wsgi)
    for name, text in (templates or {}).items():
        (project / "deploy" / "nginx").mkdir(parents=True, exist_ok=True)
        (project / "deploy" / "nginx" / name).write_text(text)
    return home, project, throwaway_env(home, COURSE_STARTER=str(project))
