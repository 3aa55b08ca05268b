"""The GitHub Classroom workflow: current with the catalog, accepted by actionlint, a grading
step per exercise that the reporter collects, and its commands doing here what they do on
GitHub's machines."""

from __future__ import annotations

import os
import shlex
import subprocess

import pytest
import yaml

from course import catalog, paths
from course.grading import classroom
from course.measuring.workflow import actionlint
from course.project import states


@pytest.fixture(scope="module")
def steps() -> list[dict]:
    data = yaml.safe_load(classroom.WORKFLOW.read_text(encoding="utf-8"))
    return data["jobs"]["autograding"]["steps"]


def test_the_workflow_is_written_from_the_catalog() -> None:
    assert classroom.WORKFLOW.read_text(encoding="utf-8") == classroom.workflow(catalog.load()), (
        ".github/workflows/classroom.yml is out of date: run `python -m course.grading.classroom`")


def test_actionlint_accepts_it() -> None:
    program = actionlint()
    if program is None:
        pytest.skip("actionlint has no wheel for this platform")
    found = subprocess.run([program, "-no-color", str(classroom.WORKFLOW)],
                           capture_output=True, text=True, cwd=paths.ROOT)
    assert found.returncode == 0, found.stdout + found.stderr


def test_one_graded_step_per_exercise_and_the_reporter_collects_them_all(steps) -> None:
    graders = [s for s in steps if "autograding-command-grader" in s.get("uses", "")]
    ids = [classroom.step_id(e.id) for e in catalog.load().exercises]
    assert [s["id"] for s in graders] == ids
    assert graders[0]["with"]["setup-command"] == classroom.SETUP
    assert all(s["with"]["command"] == classroom.command(e.id)
               for s, e in zip(graders, catalog.load().exercises, strict=True))
    reporter = steps[-1]
    assert "autograding-grading-reporter" in reporter["uses"]
    assert reporter["with"]["runners"].split(",") == ids
    assert set(reporter["env"]) == {f"{i.upper()}_RESULTS" for i in ids}
    assert all(f"steps.{i}.outputs.result" in reporter["env"][f"{i.upper()}_RESULTS"]
               for i in ids)


def test_its_commands_pass_a_solved_exercise_and_fail_an_open_one(steps, tmp_path) -> None:
    """As a runner does: the setup command, then the first exercise's command, on a project
    that solved it and on one that did not (a state home of its own: no progress recorded
    in this checkout's)."""
    graders = {s["id"]: s["with"] for s in steps if "with" in s and "command" in s["with"]}
    first = graders[classroom.step_id("01.1")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
    env.update(COURSE_HOME=str(tmp_path / "home"), COURSE_VENV=str(paths.VENV))

    def run(line: str, starter=None) -> subprocess.CompletedProcess[str]:
        extra = {"COURSE_STARTER": str(starter)} if starter else {}
        return subprocess.run(shlex.split(line), cwd=paths.ROOT, env={**env, **extra},
                              capture_output=True, text=True, timeout=600)

    try:
        started = run(first["setup-command"])
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
        solved = states.reference_state(catalog.load(), "01.1")
        passing = run(first["command"], solved)
        assert passing.returncode == 0, passing.stdout[-2000:] + passing.stderr[-2000:]
        open_one = run(first["command"], states.reference_state(catalog.load(), "00"))
        assert open_one.returncode != 0 and "01.1" in open_one.stdout
    finally:
        run("python3 -m course services down")
