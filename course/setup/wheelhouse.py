"""Wheels for every laptop in a room, in one folder: ``course wheelhouse``.

    python3 -m course wheelhouse --platforms linux-x86_64,macos-arm64 --python 3.11,3.12

For each platform and Python version named, pip downloads the wheels of the pinned stack for
that machine into ``wheelhouse/`` (``foreign_pip``: with the target's environment markers,
which a plain ``pip download --platform`` judges by the machine it runs on). A package with no
wheel for a target is listed, with what it means, and its source archive goes in instead, with
the wheels that building and running it need on that machine (``add_sources``): pip builds it
there, offline, where a C compiler is found. Everything the target can get is downloaded.
``wheelhouse/wheelhouse.json`` says what was made, what is missing and what is built from
source.

When ``wheelhouse/`` holds wheels, the bootstrap installs from it alone, with no index and no
network (``course.venvs``).

Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from course import paths, venvs

MANIFEST = "wheelhouse.json"
GLIBC = 35  # glibc 2.35 (Ubuntu 22.04, WSL's default): manylinux wheels up to it


def _manylinux(arch: str) -> tuple[str, ...]:
    return (*(f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC, 16, -1)),
            f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}")


@dataclass(frozen=True)
class Platform:
    name: str
    tags: tuple[str, ...]  # pip's --platform values (pip widens a macOS tag to older ones)
    markers: tuple[tuple[str, str], ...]  # PEP 508 marker values of such a machine


PLATFORMS = {
    "linux-x86_64": Platform("linux-x86_64", _manylinux("x86_64"),
                             (("sys_platform", "linux"), ("platform_system", "Linux"),
                              ("platform_machine", "x86_64"))),
    "linux-aarch64": Platform("linux-aarch64", _manylinux("aarch64"),
                              (("sys_platform", "linux"), ("platform_system", "Linux"),
                               ("platform_machine", "aarch64"))),
    "macos-arm64": Platform("macos-arm64", ("macosx_14_0_arm64",),
                            (("sys_platform", "darwin"), ("platform_system", "Darwin"),
                             ("platform_machine", "arm64"))),
    "macos-x86_64": Platform("macos-x86_64", ("macosx_13_0_x86_64",),
                             (("sys_platform", "darwin"), ("platform_system", "Darwin"),
                              ("platform_machine", "x86_64"))),
}
ALIASES = {"wsl2": "linux-x86_64", "wsl": "linux-x86_64"}


class WheelhouseError(Exception):
    """A wheelhouse that cannot be made as asked, in one line."""


def parse_platforms(text: str) -> list[Platform]:
    """``linux-x86_64,macos-arm64``, ``all`` or ``here``, into platforms; a clear error
    naming the ones there are for anything else."""
    chosen = []
    for name in (part.strip().lower() for part in text.split(",") if part.strip()):
        if name == "all":
            chosen += PLATFORMS.values()
            continue
        name = venvs.this_machine()[0] if name == "here" else ALIASES.get(name, name)
        if name not in PLATFORMS:
            raise WheelhouseError(f"no platform called {name!r}: choose from "
                                  f"{', '.join(PLATFORMS)}, wsl2, here or all")
        chosen.append(PLATFORMS[name])
    return list(dict.fromkeys(chosen))


def parse_pythons(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    for version in chosen:
        if not re.fullmatch(r"3\.\d{1,2}", version):
            raise WheelhouseError(f"{version!r} is not a Python version like 3.12")
    return list(dict.fromkeys(chosen))


def marker_environment(target: Platform, python: str) -> dict[str, str]:
    """The values a PEP 508 marker sees on ``target`` with CPython ``python``."""
    return {**dict(target.markers), "python_version": python,
            "python_full_version": f"{python}.0", "implementation_name": "cpython",
            "implementation_version": f"{python}.0", "platform_python_implementation":
            "CPython", "os_name": "posix", "platform_release": "", "platform_version": ""}


MISSING = re.compile(r"(?:No matching distribution found for|Could not find a version that "
                     r"satisfies the requirement) ([A-Za-z0-9._-]+)")


@dataclass
class Target:
    platform: Platform
    python: str
    missing: list[str] = field(default_factory=list)  # requirements left out: no wheel
    complete: bool = False  # every requirement (but ``missing``) and its dependencies came
    problem: str = ""  # why it stopped, when a dependency has no wheel
    from_source: list[str] = field(default_factory=list)  # of ``missing``: the source is there

    @property
    def label(self) -> str:
        return f"{self.platform.name}, Python {self.python}"


def _requirement_lines(requirements: Path) -> list[str]:
    return [line.strip() for line in requirements.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _name(line: str) -> str:
    found = re.match(r"[A-Za-z0-9._-]+", line)
    return _normal(found.group(0)) if found else line


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def download(target: Target, dest: Path | None, requirements: Path, *,
             index: list[str] | None = None, log: Path | None = None) -> Target:
    """Download ``target``'s wheels into ``dest`` (or, with no ``dest``, only resolve them:
    pip reads the wheels' metadata, downloads none). A requirement of the file that has no
    wheel for it is left out (``target.missing``) and the rest tried again; a dependency
    without one stops the target (``target.problem``)."""
    lines = _requirement_lines(requirements)
    with tempfile.TemporaryDirectory(prefix="course-wheelhouse-") as scratch:
        markers = Path(scratch) / "target.json"
        markers.write_text(json.dumps(marker_environment(target.platform, target.python)))
        wanted = Path(scratch) / "requirements.txt"
        while True:
            wanted.write_text("\n".join(lines) + "\n", encoding="utf-8")
            action = (["download", "-d", str(dest)] if dest is not None else
                      ["install", "--dry-run", "--ignore-installed", "--quiet",
                       "--target", str(Path(scratch) / "nowhere")])
            command = [sys.executable, "-m", "course.setup.foreign_pip", str(markers),
                       *action, "--disable-pip-version-check", "--progress-bar", "off",
                       "--only-binary=:all:", "--implementation", "cp",
                       "--python-version", target.python,
                       *(arg for tag in target.platform.tags for arg in ("--platform", tag)),
                       "-r", str(wanted), *(index or [])]
            done = _run_pip(command, log)
            if done.returncode == 0:
                target.complete = True
                return target
            found = MISSING.search(done.stderr + done.stdout)
            if not found:
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
                target.problem = f"pip failed: {' '.join(tail)}"
                return target
            name = _normal(found.group(1))
            kept = [line for line in lines if _name(line) != name]
            if kept == lines:  # a dependency, not a line of the file: nothing to leave out
                target.problem = f"{found.group(1)} (a dependency) has no wheel for it"
                return target
            target.missing.append(next(line for line in lines if _name(line) == name))
            lines = kept


def add_sources(target: Target, dest: Path, *, index: list[str] | None = None,
                log: Path | None = None) -> None:
    """For each requirement of ``target.missing``: its source archive into ``dest``, and the
    target's wheels of what building it (its ``build-system``) and running it (its
    ``Requires-Dist``) need, so pip can build it on that machine with no network. One whose
    source or needs cannot be had stays out of ``target.from_source``."""
    for line in target.missing:
        with tempfile.TemporaryDirectory(prefix="course-source-") as scratch:
            command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
                       "--no-deps", "--no-binary", _name(line), "-d", scratch, line,
                       *(index or [])]
            done = _run_pip(command, log)
            archives = sorted(Path(scratch).glob("*.tar.gz"))
            if done.returncode != 0 or not archives:
                continue
            needs = Path(scratch) / "needs.txt"
            needs.write_text("\n".join(source_needs(archives[0])) + "\n", encoding="utf-8")
            helpers = download(Target(target.platform, target.python), dest, needs,
                               index=index, log=log)
            if helpers.complete and not helpers.missing:
                shutil.copy2(archives[0], dest / archives[0].name)
                target.from_source.append(line)


DEFAULT_BUILD = ("setuptools>=40.8.0", "wheel")  # pip's, for a source without pyproject.toml


def source_needs(archive: Path) -> list[str]:
    """What building (``[build-system] requires``) and running (``Requires-Dist``) the
    source archive ``archive`` (an sdist, ``.tar.gz``) need."""
    import email
    import tarfile

    import tomllib

    build: list[str] = list(DEFAULT_BUILD)
    running: list[str] = []
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if len(parts) != 2 or not member.isfile():
                continue
            text = tar.extractfile(member).read().decode("utf-8", "replace")  # type: ignore[union-attr]
            if parts[1] == "pyproject.toml":
                build = list(tomllib.loads(text).get("build-system", {}).get(
                    "requires", DEFAULT_BUILD))
            elif parts[1] == "PKG-INFO":
                running = email.message_from_string(text).get_all("Requires-Dist") or []
    return list(dict.fromkeys([*build, *running]))


def _run_pip(command: list[str], log: Path | None) -> subprocess.CompletedProcess[str]:
    """Run a pip command from the course's folder; its output appended to ``log``."""
    done = subprocess.run(command, capture_output=True, text=True, env=_pip_env(),
                          cwd=paths.ROOT)
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}\n")
    return done


def _pip_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(paths.ROOT), env.get("PYTHONPATH")]))
    return env


def check(platforms: list[Platform], pythons: list[str],
          requirements: Path = paths.REQUIREMENTS, *, index: list[str] | None = None,
          progress: Callable[[str], None] = print) -> list[Target]:
    """What each platform × Python would get, resolved from the index without downloading a
    wheel: the platform support matrix."""
    targets = [Target(p, v) for p in platforms for v in pythons]
    for number, target in enumerate(targets, 1):
        download(target, None, requirements, index=index)
        progress(f"[{number}/{len(targets)}] {target.label}: {describe(target)}")
    return targets


def describe(target: Target) -> str:
    """``every wheel``; or the requirements without one (the rest complete); or where it
    stopped."""
    missing = ", ".join(_name(line) for line in target.missing)
    if not target.complete:
        return f"stops: {target.problem}" + (f" (and no wheel for {missing})" if missing else "")
    built = [_name(line) for line in target.from_source]
    if built:
        missing += f" (its source is there: {', '.join(built)} built on the machine)" \
            if len(built) == len(target.missing) else f" (the source of {', '.join(built)})"
    return f"no wheel for {missing}; every other wheel" if missing else "every wheel"


def build(platforms: list[Platform], pythons: list[str], dest: Path,
          requirements: Path = paths.REQUIREMENTS, *, index: list[str] | None = None,
          progress: Callable[[str], None] = print) -> list[Target]:
    """Every platform × Python into ``dest``, with a manifest of what each target got."""
    dest.mkdir(parents=True, exist_ok=True)
    log = dest / "wheelhouse.log"
    log.write_text("")
    targets = [Target(p, v) for p in platforms for v in pythons]
    for number, target in enumerate(targets, 1):
        started = time.monotonic()
        progress(f"[{number}/{len(targets)}] {target.label} …")
        download(target, dest, requirements, index=index, log=log)
        if target.complete and target.missing:
            add_sources(target, dest, index=index, log=log)
        progress(f"      {describe(target)} ({time.monotonic() - started:.0f} s)")
    manifest = {
        "made": time.strftime("%Y-%m-%d %H:%M"),
        "requirements_sha256": hashlib.sha256(requirements.read_bytes()).hexdigest(),
        "targets": {t.label: {"complete": t.complete, "missing": t.missing,
                              "from_source": t.from_source, "problem": t.problem}
                    for t in targets},
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return targets


def size(dest: Path) -> int:
    return sum(path.stat().st_size for path in dest.glob("*.whl"))
