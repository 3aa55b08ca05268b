"""A workflow read as a runner reads it, and its run: steps run here as a runner runs them
(the breakages of 13.4 are checked with the regressions, in test_regressions.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from course.measuring import workflow

WORKFLOW = """
name: shop
on: [push]
env:
  LEVEL: outer
jobs:
  test:
    runs-on: ubuntu-24.04
    services:
      db:
        image: postgres:18
    env:
      DATABASE_URL: postgres://shop:shop@localhost:5432/shop
      LEVEL: job
    steps:
      - uses: actions/checkout@v5
      - name: Install
        run: python -m pip install -r requirements.txt
      - name: Say where
        env:
          LEVEL: step
        run: echo "$LEVEL $DATABASE_URL" > where.txt
      - name: Allowed to fail
        continue-on-error: true
        run: exit 3
      - name: Fails
        run: "false"
      - name: Never reached
        run: touch reached.txt
"""


def _written(tmp_path: Path, text: str = WORKFLOW) -> Path:
    path = tmp_path / workflow.WORKFLOW
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_steps_get_the_environment_a_runner_gives_them(tmp_path: Path) -> None:
    data = workflow.load(_written(tmp_path))
    assert data["on"] == ["push"]  # YAML 1.1 reads the key `on` as True
    planned = workflow.steps(data)
    assert [step.name for step in planned] == [
        "actions/checkout@v5", "Install", "Say where", "Allowed to fail", "Fails",
        "Never reached"]
    assert planned[0].skipped.startswith("uses actions/checkout@v5")
    assert planned[1].skipped.startswith("installs packages")
    assert planned[2].env["LEVEL"] == "step" and planned[4].env["LEVEL"] == "job"
    assert planned[3].continue_on_error and not planned[4].continue_on_error
    assert workflow.postgres_jobs(data) == ["test"]


def test_runs_stop_at_the_first_failure_that_counts(tmp_path: Path) -> None:
    planned = workflow.steps(workflow.load(_written(tmp_path)))
    run = workflow.run_steps(tmp_path, planned, {"DATABASE_URL": "postgres://here/x"},
                             python=sys.executable)
    assert [result.step.name for result in run.results] == [
        "Say where", "Allowed to fail", "Fails"]
    assert (tmp_path / "where.txt").read_text() == "step postgres://here/x\n"
    assert not (tmp_path / "reached.txt").exists()
    assert run.stopped_at is not None and run.stopped_at.step.name == "Fails"
    assert not run.passed
    assert [step.name for step in run.skipped] == ["actions/checkout@v5", "Install"]


def test_a_job_on_sqlite_is_not_a_postgres_job(tmp_path: Path) -> None:
    text = WORKFLOW.replace("      DATABASE_URL: postgres://shop:shop@localhost:5432/shop\n", "")
    assert workflow.postgres_jobs(workflow.load(_written(tmp_path, text))) == []


def test_an_expression_only_a_runner_fills_in_is_refused(tmp_path: Path) -> None:
    text = WORKFLOW.replace('run: "false"', "run: echo ${{ github.sha }}")
    planned = workflow.steps(workflow.load(_written(tmp_path, text)))
    with pytest.raises(workflow.WorkflowError, match="github.sha"):
        workflow.run_steps(tmp_path, planned, {}, python=sys.executable)


def test_a_file_that_is_not_a_workflow_says_so(tmp_path: Path) -> None:
    with pytest.raises(workflow.WorkflowError, match="not valid YAML"):
        workflow.load(_written(tmp_path, "jobs: [unclosed"))
    (tmp_path / workflow.WORKFLOW).write_text("name: nothing\n")
    with pytest.raises(workflow.WorkflowError, match="no jobs"):
        workflow.load(tmp_path / workflow.WORKFLOW)
