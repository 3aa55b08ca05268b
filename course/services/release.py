"""Run a release step, then become the server: ``collectstatic``, then ``exec`` the command.

What a deployment does before its new app servers start (WhiteNoise serves the
files it finds in ``STATIC_ROOT`` when the process starts, and the manifest
must match the code)::

    python -m course.services.release python -m gunicorn config.wsgi:application …

Runs in the project's folder with the project's environment (supervisord starts
it). A failed ``collectstatic`` is printed and the server starts anyway: the
pages then say what is wrong, which helps more than a server that is not there.
"""

from __future__ import annotations

import os
import subprocess
import sys


def main(command: list[str]) -> None:
    if not command:
        raise SystemExit("usage: python -m course.services.release COMMAND …")
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        check=False, capture_output=True, text=True)
    if collected.returncode != 0:
        lines = (collected.stderr or collected.stdout).strip().splitlines() or ["no output"]
        print(f"course: collectstatic failed: {lines[-1]}", file=sys.stderr, flush=True)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
