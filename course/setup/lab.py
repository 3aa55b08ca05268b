"""``course lab``: services up, database ready, JupyterLab open on the first notebook."""

from __future__ import annotations

import os
import subprocess
import sys

from course import paths, services
from course.project import commands

FIRST_NOTEBOOK = "notebooks/00_welcome.ipynb"


def run(*, no_browser: bool, scale: str, port: int) -> int:
    services.up()
    status = services.status()
    print(services.format_status(status))
    print("course: preparing the shop's database …", flush=True)
    try:
        seeded = commands.prepare_database(scale)
    except subprocess.CalledProcessError as error:
        print(f"course: the starter project could not migrate or seed (exit {error.returncode}); "
              "run `python3 -m course check` to see which file is broken", file=sys.stderr)
        return 2
    if not seeded:
        print(f"course: database already seeded ({scale}); "
              "run `python manage.py seed_shop --scale …` in starter_project/ to change it")
    command = [
        sys.executable, "-m", "jupyter", "lab", FIRST_NOTEBOOK,
        f"--ServerApp.root_dir={paths.ROOT}", "--ServerApp.ip=127.0.0.1", f"--port={port}",
    ]
    if no_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    print("course: starting JupyterLab (Ctrl-C to stop; services keep running until "
          "`python3 -m course services down`)", flush=True)
    os.chdir(paths.ROOT)
    os.execv(sys.executable, command)
    return 0  # not reached
