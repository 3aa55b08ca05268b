"""Virtual environments made from a pinned requirements file: the course's own ``.venv``
(``course.setup.bootstrap``) and a tool's that cannot share it (the error tracker's).

Standard library only: this runs under whatever ``python3`` the learner has. A venv is
current while a stamp in it matches the requirements file and the Python that installed it;
pip's work is shown as progress lines.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from course import paths

STAMP_NAME = "course-requirements.sha256"


class VenvError(Exception):
    """A set-up problem with a one-line explanation of what to do."""


def requirements_digest(requirements: Path = paths.REQUIREMENTS) -> str:
    """Hash of the requirements file and the Python version that installed them."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(sys.version.split()[0].encode())
    return digest.hexdigest()


def stamp_path(venv: Path = paths.VENV) -> Path:
    return venv / STAMP_NAME


def venv_is_current(venv: Path = paths.VENV, requirements: Path = paths.REQUIREMENTS) -> bool:
    """True when ``venv`` exists and was installed from this exact requirements file."""
    stamp = stamp_path(venv)
    if not paths.venv_python(venv).exists() or not stamp.exists():
        return False
    return stamp.read_text().strip() == requirements_digest(requirements)


def create_venv(venv: Path = paths.VENV) -> None:
    """Create ``venv`` with pip, explaining the usual Debian/Ubuntu gap."""
    if venv.exists():
        shutil.rmtree(venv)
    print(f"course: creating {venv.name} with Python {sys.version.split()[0]} …", flush=True)
    result = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True
    )
    if result.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        if "ensurepip" in (result.stdout + result.stderr):
            major, minor = sys.version_info[:2]
            raise VenvError(
                "this Python has no `ensurepip`, so it cannot create a virtual environment. "
                f"Install it (Debian/Ubuntu: `sudo apt install python{major}.{minor}-venv`) "
                "and run the command again."
            )
        last = (result.stderr or result.stdout).strip().splitlines()[-1:]
        raise VenvError(f"could not create {venv}: {' '.join(last)}")


def wheelhouse_folder() -> Path | None:
    """The wheelhouse the course's ``.venv`` is installed from (``course wheelhouse``):
    ``COURSE_WHEELHOUSE``, else ``wheelhouse/`` in the course, when it holds wheels."""
    chosen = Path(os.environ.get("COURSE_WHEELHOUSE") or paths.ROOT / "wheelhouse")
    return chosen if chosen.is_dir() and any(chosen.glob("*.whl")) else None


def this_machine() -> tuple[str, str]:
    """This machine as ``course wheelhouse --platforms`` names it, and its Python version."""
    system = {"linux": "linux", "darwin": "macos"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "arm64" if system == "macos" else "aarch64",
               "aarch64": "aarch64"}.get(machine, machine)
    return f"{system}-{machine}", f"{sys.version_info[0]}.{sys.version_info[1]}"


def build_failure(log: str) -> str | None:
    """One line for the commonest install failure on a machine without a wheel: pip had to
    build a package from source, and could not (no compiler)."""
    failed = re.search(r"Failed (?:building wheel for|to build) ([A-Za-z0-9._-]+)", log)
    if not failed:
        return None
    name = failed.group(1)
    machine, python = this_machine()
    return (f"{name} has no wheel for this machine ({machine}, Python {python}), and pip could "
            "not build it from source: install a C compiler and make (macOS: "
            "`xcode-select --install`; Debian or Ubuntu: `sudo apt install build-essential`) "
            "and run the command again, or use a Python for which it has a wheel (the "
            "README's Platforms table).")


def count_requirements(requirements: Path = paths.REQUIREMENTS) -> int:
    lines = requirements.read_text().splitlines()
    return sum(1 for line in lines if line.strip() and not line.lstrip().startswith("#"))


def install_requirements(
    venv: Path = paths.VENV, requirements: Path = paths.REQUIREMENTS, *,
    what: str = "the pinned stack",
) -> float:
    """pip-install ``what``, pinned in ``requirements``, with a one-line progress display;
    the seconds it took."""
    total = count_requirements(requirements)
    python = paths.venv_python(venv)
    command = [
        str(python), "-m", "pip", "install", "--disable-pip-version-check",
        "--progress-bar", "off", "-r", str(requirements),
    ]
    wheels = wheelhouse_folder() if requirements == paths.REQUIREMENTS else None
    source = ""
    if wheels is not None:  # a room's wheelhouse: no index, no network
        command += ["--no-index", "--find-links", str(wheels)]
        source = f" from {wheels} (no network)"
    print(f"course: installing {what} ({total} packages and their dependencies){source} …",
          flush=True)
    log_path = venv / "course-install.log"
    started = time.monotonic()
    collected = 0
    interactive = sys.stdout.isatty()
    show = _Progress(interactive)
    with open(log_path, "w", encoding="utf-8") as log, subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as pip:
        assert pip.stdout is not None
        for line in pip.stdout:
            log.write(line)
            if line.startswith("Collecting "):
                collected += 1
                show(f"  [{collected:3d}] collecting {line.split()[1]}", every=20)
            elif line.startswith("Installing collected packages"):
                names = line.split(":", 1)[1].split(",")
                show.watch_install(venv, len(names))
        code = pip.wait()
    show.stop()
    if interactive:
        print()
    if code != 0:
        tail = log_path.read_text(encoding="utf-8").strip().splitlines()[-1:]
        built = build_failure(log_path.read_text(encoding="utf-8"))
        if built:  # a wheelhouse holds the source of what has no wheel here: the same cause
            raise VenvError(f"{built} Full log: {log_path}")
        if wheels is not None:
            name, version = this_machine()
            raise VenvError(
                f"the wheelhouse {wheels} lacks a wheel this machine needs ({' '.join(tail)}): "
                f"ask for one made with `python3 -m course wheelhouse --platforms {name} "
                f"--python {version}`, or move {wheels.name}/ away to download from PyPI. "
                f"Full log: {log_path}")
        raise VenvError(
            f"pip could not install {requirements.name} ({' '.join(tail)}). Full log: {log_path}"
        )
    stamp_path(venv).write_text(requirements_digest(requirements))
    seconds = time.monotonic() - started
    print(f"course: {what} installed in {seconds:.0f} s", flush=True)
    return seconds


class _Progress:
    """Progress lines while pip works: one line rewritten in a terminal, else a line now and
    then (every ``every``-th message, or every 15 s while packages are being installed)."""

    INTERVAL = 15.0  # seconds between install lines when not in a terminal
    TICK = 1.0

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self.count = 0
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    def __call__(self, message: str, every: int = 1, force: bool = False) -> None:
        self.count += 1
        if self.interactive:
            print(f"\r{message[:70]:<70}", end="", flush=True)
        elif force or self.count % every == 1 or every == 1:
            print(message, flush=True)

    def watch_install(self, venv: Path, total: int) -> None:
        """pip prints nothing while it installs: count the packages landing in the venv."""
        found = sorted(venv.glob("lib*/python*/site-packages")) or sorted(
            venv.glob("Lib/site-packages"))
        if not found:
            self(f"  installing {total} packages …", force=True)
            return
        site = found[0]
        before = len(list(site.glob("*.dist-info")))
        started = time.monotonic()

        def watch() -> None:
            last_line = 0.0
            while not self.done.wait(self.TICK):
                landed = min(total, max(0, len(list(site.glob("*.dist-info"))) - before))
                elapsed = time.monotonic() - started
                message = f"  installing: {landed}/{total} packages ({elapsed:.0f} s)"
                if self.interactive or elapsed - last_line >= self.INTERVAL:
                    last_line = elapsed
                    self(message, force=True)

        self(f"  installing {total} packages …", force=True)
        self.thread = threading.Thread(target=watch, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        if self.thread:
            self.thread.join()
        if self.interactive:
            print()




def ensure_tool(venv: Path, requirements: Path, what: str, *, quiet: bool = False) -> Path:
    """A tool's own virtual environment (``what``: its name for humans), made or brought up to
    date from its pinned list the first time it is needed: its Python. Two processes that
    need it at once (graders side by side) install it once: the second waits."""
    from course import statefiles

    with statefiles.locked(venv.parent / f".{venv.name}.lock"):
        if not venv_is_current(venv, requirements):
            if not quiet:
                print(f"course: {what} gets a virtual environment of its own ({venv}), once "
                      "per machine", flush=True)
            if not paths.venv_python(venv).exists():
                create_venv(venv)
            install_requirements(venv, requirements, what=what)
    return paths.venv_python(venv)
