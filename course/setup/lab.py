"""``course lab``: services up, database ready, JupyterLab open on the first notebook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from course import paths, services
from course.project import commands

FIRST_NOTEBOOK = "notebooks/00_welcome.ipynb"


# JupyterLab's defaults for the course: no news pop-up, no update check (both ask a website
# on every start; a room on bad Wi-Fi does not need either).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}


def write_lab_settings(prefix: Path = Path(sys.prefix)) -> Path:
    """Merge the course's defaults into the environment's ``overrides.json``."""
    path = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    for plugin, values in LAB_SETTINGS.items():
        current.setdefault(plugin, {}).update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    return path


def run(*, no_browser: bool, scale: str, port: int) -> int:
    write_lab_settings()
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
