"""The suite's runner: parts side by side within a limit, longest first, failures shown."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from course.suite import parts, runner

# A stand-in part: sleeps a second when called "slow", fails when called "broken".
STAND_IN = """
import json, sys, time
name, out = sys.argv[1], sys.argv[2]
if name == "slow":
    time.sleep(1.0)
if name == "broken":
    print("a line the log keeps")
ok = name != "broken"
json.dump({"passed": int(ok), "failed": int(not ok),
           "problems": [] if ok else ["broken: it failed"]}, open(out, "w"))
"""


@pytest.fixture
def started(monkeypatch, tmp_path: Path) -> list[tuple[str, float]]:
    """The real scheduler, over three stand-in parts; returns when each one started."""
    calls: list[tuple[str, float]] = []
    fake = {name: parts.Part(name, lambda tally: None, name)
            for name in ("slow", "quick", "broken")}
    monkeypatch.setattr(runner, "PARTS", fake)
    monkeypatch.setattr(runner.paths, "STATE", tmp_path / "state")
    monkeypatch.setattr(runner, "DEFAULT_SECONDS", {"slow": 10, "quick": 1, "broken": 2})

    def start(name: str) -> runner.Running:
        calls.append((name, time.monotonic()))
        log, summary = tmp_path / f"{name}.log", tmp_path / f"{name}.json"
        process = runner.subprocess.Popen([sys.executable, "-c", STAND_IN, name, str(summary)],
                                          stdout=log.open("w"), stderr=runner.subprocess.STDOUT)
        return runner.Running(name, process, log, summary, time.monotonic())

    monkeypatch.setattr(runner, "_start", start)
    from course import services

    monkeypatch.setattr(services, "status", lambda: services.Status(supervisor=True))
    monkeypatch.setattr(services, "enabled", lambda: {})
    return calls


def test_parts_run_side_by_side_longest_first_and_failures_are_shown(started, capsys) -> None:
    began = time.monotonic()
    assert runner.run(skip=set(), only=set(), jobs=2) == 1
    assert started[0][0] == "slow", "the longest part starts first"
    assert started[1][1] - started[0][1] < 0.5, "two parts start together"
    assert time.monotonic() - began < 10
    out = capsys.readouterr().out
    assert "broken: it failed" in out and "a line the log keeps" in out
    assert "wall time per part" in out and "FAILED" in out


def test_only_and_skip_choose_the_parts(started) -> None:
    assert runner.run(skip={"broken"}, only=set(), jobs=1) == 0
    assert sorted(name for name, _ in started) == ["quick", "slow"]


def test_the_cli_offers_every_part() -> None:
    """`course test --only/--skip` list the parts by hand (argument parsing imports nothing
    of the suite): they must be the suite's own."""
    import argparse

    from course.cli import instructor
    from course.suite.parts import PARTS

    parser = argparse.ArgumentParser()
    verbs = parser.add_subparsers()
    instructor.register(lambda name, handler, about: verbs.add_parser(name, help=about))
    test = verbs.choices["test"]
    [only] = [action for action in test._actions if action.dest == "only"]
    assert list(only.choices) == list(PARTS)
