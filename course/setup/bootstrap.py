"""Make sure the course runs inside its own ``.venv`` with the pinned stack.

Standard library only: this runs under whatever ``python3`` the learner has.
It creates ``.venv`` when missing, reinstalls only when ``requirements.txt``
(or the Python version) changed, shows progress while pip works, then
re-executes the same command inside ``.venv``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from course import paths
from course.venvs import VenvError as BootstrapError
from course.venvs import create_venv, install_requirements, venv_is_current

# 3.11: the pinned uvicorn, Pillow and Locust publish nothing for 3.10 (`course wheelhouse
# --check --python 3.10` says so), so an install there would fail half-way.
MIN_PYTHON = (3, 11)


def running_inside(venv: Path = paths.VENV) -> bool:
    """True when this interpreter is the venv's own."""
    try:
        return Path(sys.prefix).resolve() == venv.resolve()
    except OSError:
        return False


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:2])) -> None:
    if version < MIN_PYTHON:
        raise BootstrapError(
            f"Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer is needed "
            f"(this is {version[0]}.{version[1]})."
        )


PTH_NAME = "django_under_load.pth"


def ensure_course_importable(venv: Path = paths.VENV) -> None:
    """Put the course's root on the venv's path, so notebook kernels can import ``course``.

    Only for the course's own ``.venv``: a venv borrowed through COURSE_VENV
    (the tooling tests drive copies of the course that way) is left alone.
    """
    if venv.resolve().parent != paths.ROOT.resolve():
        return
    for site_packages in (venv / "lib").glob("python3*/site-packages"):
        pth = site_packages / PTH_NAME
        wanted = f"{paths.ROOT}\n"
        if not pth.exists() or pth.read_text() != wanted:
            pth.write_text(wanted)


def ensure_venv(venv: Path = paths.VENV, requirements: Path = paths.REQUIREMENTS) -> Path:
    """Create or refresh ``venv`` as needed; return its Python."""
    check_python()
    if venv_is_current(venv, requirements):
        ensure_course_importable(venv)
        return paths.venv_python(venv)
    if not paths.venv_python(venv).exists():
        create_venv(venv)
    else:
        print("course: requirements.txt changed since the last install; updating .venv",
              flush=True)
    seconds = install_requirements(venv, requirements)
    os.environ["COURSE_INSTALL_SECONDS"] = f"{seconds:.1f}"  # `course test` reports it
    ensure_course_importable(venv)
    return paths.venv_python(venv)


def reexec_in_venv(argv: list[str]) -> None:
    """Replace this process with ``python -m course <argv>`` inside ``.venv``.

    Returns only when already running inside the venv.
    """
    if running_inside() and venv_is_current():
        ensure_course_importable()
        return
    python = ensure_venv()
    env = dict(os.environ, COURSE_BOOTSTRAPPED="1")
    sys.stdout.flush()
    os.execve(str(python), [str(python), "-m", "course", *argv], env)
