"""A GitHub Actions workflow of the shop, checked by actionlint and run here as a runner would
run its commands: the ``run:`` steps of its jobs, in order, in a copy of the project, each
with the environment the workflow gives it, stopping at the first that fails (exercise
13.4, and notebook 13).

What a runner does that this does not: ``uses:`` steps (checking out, installing Python)
and the steps that install packages are skipped, since the course's environment has the
pinned stack already; the service containers' addresses (``DATABASE_URL``, ``REDIS_URL``,
``CELERY_BROKER_URL``) are replaced by the course's own PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.measuring.regressions import FIXED, REGRESSIONS, Regression, in_copies, label_of

WORKFLOW = ".github/workflows/ci.yml"
SERVICE_ADDRESSES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
INSTALLS = re.compile(r"\b(pip3?|uv pip|uv sync|poetry|pipenv|apt-get|apt)\s+(install|sync)\b"
                      r"|\buv sync\b")
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)
STEP_TIMEOUT = 300  # seconds for one step
SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]  # a runner's default for run:
QUIET = ("Destroying test database",)  # last lines that say nothing about the result


class WorkflowError(ValueError):
    """The workflow cannot be read or run here; the message says why, in one line."""


@dataclass
class Step:
    job: str
    name: str
    run: str | None  # the script, or None for a uses: step
    env: dict[str, str]
    directory: str = "."
    skipped: str = ""  # why it is not run here, or "" when it is
    continue_on_error: bool = False  # a failure does not stop the job, nor fail it

    @property
    def label(self) -> str:
        return f"{self.job}: {self.name}"


def load(path: Path) -> dict[str, Any]:
    """The workflow as data; YAML's ``on:`` key (read as True by YAML 1.1) stays "on"."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise WorkflowError(f"{path.name} is not valid YAML: {str(error).splitlines()[0]}") \
            from None
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        raise WorkflowError(f"{path.name} has no jobs: a workflow needs a `jobs:` mapping")
    if True in data:
        data["on"] = data.pop(True)
    return data


def _text_env(values: Any, where: str) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise WorkflowError(f"{where}'s env is not a mapping of names to values")
    return {str(name): _text(value) for name, value in values.items()}


def _text(value: Any) -> str:
    """A YAML value as a runner passes it to a step's environment: text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def steps(workflow: dict[str, Any]) -> list[Step]:
    """Every job's steps, jobs in the file's order, each with the environment it would get
    (the workflow's, then the job's, then the step's) and why it is skipped here, if it is."""
    found: list[Step] = []
    outer = _text_env(workflow.get("env"), "the workflow")
    for job_name, job in workflow["jobs"].items():
        if not isinstance(job, dict):
            raise WorkflowError(f"job {job_name} is not a mapping")
        job_env = {**outer, **_text_env(job.get("env"), f"job {job_name}")}
        default_directory = ((job.get("defaults") or {}).get("run") or {}).get(
            "working-directory", ".")
        for number, step in enumerate(job.get("steps") or [], start=1):
            run = step.get("run")
            first_line = str(run).strip().splitlines()[0] if run else ""
            name = str(step.get("name") or step.get("uses") or first_line or f"step {number}")
            env = {**job_env, **_text_env(step.get("env"), f"step {name!r}")}
            skipped = ""
            if run is None:
                skipped = f"uses {step.get('uses', 'an action')}: a runner's own set-up"
            elif INSTALLS.search(str(run)):
                skipped = "installs packages: the course's environment has them"
            found.append(Step(job_name, name, None if run is None else str(run), env,
                              str(step.get("working-directory", default_directory)), skipped,
                              step.get("continue-on-error") is True))
    return found


def postgres_jobs(workflow: dict[str, Any]) -> list[str]:
    """The jobs with a PostgreSQL service container, and DATABASE_URL naming PostgreSQL in
    the environment of their steps."""
    named = []
    planned = steps(workflow)
    for job_name, job in workflow["jobs"].items():
        services = (job or {}).get("services") or {}
        images = [str((service or {}).get("image", "")) if isinstance(service, dict)
                  else str(service) for service in services.values()]
        if not any(image.split("/")[-1].startswith("postgres") for image in images):
            continue
        urls = [step.env.get("DATABASE_URL", "") for step in planned
                if step.job == job_name and step.run is not None and not step.skipped]
        if urls and all(url.startswith(("postgres://", "postgresql://")) for url in urls):
            named.append(job_name)
    return named


def actionlint() -> str | None:
    """The actionlint program, if this platform has one (the PyPI wheel, or one on PATH)."""
    beside = Path(sys.executable).with_name("actionlint")
    return str(beside) if beside.exists() else shutil.which("actionlint")


def lint(project: Path) -> list[str] | None:
    """actionlint's findings on the workflow, one line each; None without actionlint."""
    program = actionlint()
    if program is None:
        return None
    done = subprocess.run([program, "-oneline", "-no-color", WORKFLOW], cwd=project,
                          capture_output=True, text=True, timeout=60)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return lines if done.returncode != 0 else []


@dataclass
class StepResult:
    step: Step
    returncode: int
    seconds: float
    tail: str  # the last lines it printed

    @property
    def passed(self) -> bool:
        return self.returncode == 0


@dataclass
class WorkflowRun:
    label: str  # "the fixed shop", or what was broken
    regression: Regression | None
    results: list[StepResult] = field(default_factory=list)
    skipped: list[Step] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """As GitHub says it: every step that counts passed (a failing step marked
        continue-on-error does not count)."""
        return bool(self.results) and self.stopped_at is None

    @property
    def stopped_at(self) -> StepResult | None:
        return next((result for result in self.results
                     if not result.passed and not result.step.continue_on_error), None)


def _runnable(step: Step, overrides: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The step's script and environment as run here, or WorkflowError naming what a runner
    would fill in that this cannot (an expression that is not one of the overridden ones)."""
    env = {name: overrides.get(name, value) if name in SERVICE_ADDRESSES else value
           for name, value in step.env.items()}
    for name, value in env.items():
        if EXPRESSION.search(value):
            raise WorkflowError(f"step {step.name!r}: {name} is an expression "
                                f"({EXPRESSION.search(value).group(0)}), which only a runner "
                                f"can fill in: give it a value")
    assert step.run is not None
    if EXPRESSION.search(step.run):
        raise WorkflowError(f"step {step.name!r} runs an expression "
                            f"({EXPRESSION.search(step.run).group(0)}), which only a runner "
                            f"can fill in: pass it through the step's env: instead")
    return step.run, env


KEPT_FROM_HERE = ("HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")


def base_env(python: str) -> dict[str, str]:
    """What a runner's shell starts with, here: a clean environment (nothing of the course's
    settings, the notebook's or the grader's), the course's Python first on PATH."""
    env = {name: os.environ[name] for name in KEPT_FROM_HERE if name in os.environ}
    bin_dir = str(Path(python).parent)
    env.update(PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", os.defpath)]),
               COURSE_ENV_FILE=os.devnull, PYTHONDONTWRITEBYTECODE="1", CI="true",
               GITHUB_ACTIONS="true", VIRTUAL_ENV=str(Path(bin_dir).parent))
    return env


def run_steps(project: Path, planned: list[Step], overrides: dict[str, str], *,
              label: str = FIXED, regression: Regression | None = None,
              python: str = sys.executable) -> WorkflowRun:
    """Run the planned steps that are not skipped, in order, in ``project``; stop at the first
    that fails, as a runner does."""
    run = WorkflowRun(label, regression, skipped=[step for step in planned if step.skipped])
    started = time.monotonic()
    base = base_env(python)
    for step in planned:
        if step.skipped:
            continue
        script, env = _runnable(step, overrides)
        began = time.monotonic()
        try:
            done = subprocess.run([*SHELL, "-c", script], cwd=project / step.directory,
                                  env={**base, **env}, capture_output=True, text=True,
                                  timeout=STEP_TIMEOUT)
            code, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            code, output = -1, f"stopped after {STEP_TIMEOUT} s"
        except FileNotFoundError as error:
            code, output = -1, f"cannot run in {step.directory}: {error}"
        tail = "\n".join([line for line in output.splitlines()
                           if line.strip() and not line.startswith(QUIET)][-6:])
        run.results.append(StepResult(step, code, time.monotonic() - began, tail))
        if code != 0 and not step.continue_on_error:
            break
    run.seconds = time.monotonic() - started
    return run


# What 13.4's grader breaks, each in a copy of the shop: the workflow must stop every one.
BROKEN: tuple[Regression, ...] = (
    Regression(
        name="model-without-migration",
        says="a product's name gets an index in the model (db_index=True, for a search box) "
             "and nobody ran makemigrations, so no database ever gets it; the tests pass",
        kind="a missing migration",
        edits=(("shop/models.py", "    name = models.CharField(max_length=200)\n",
                "    name = models.CharField(max_length=200, db_index=True)\n"),),
    ),
    Regression(
        name="hsts-turned-off",
        says="the production settings turn HSTS off (SECURE_HSTS_SECONDS = 0)",
        kind="a deploy-check warning",
        edits=(("config/settings/production.py",
                "SECURE_HSTS_SECONDS = 365 * 24 * 3600 if HTTPS else 0",
                "SECURE_HSTS_SECONDS = 0  # until the new domain's certificate is in"),),
    ),
    next(r for r in REGRESSIONS if r.name == "order-list-customers-one-by-one"),
    Regression(
        name="root-redirects-elsewhere",
        says="the shop's address (/) sends visitors to the order list, and a test of the "
             "shop's pages fails",
        kind="a failing test",
        edits=(("config/urls.py", 'RedirectView.as_view(pattern_name="shop:product_list"',
                'RedirectView.as_view(pattern_name="shop:order_list"'),),
    ),
)


def course_services() -> dict[str, str]:
    """The course's PostgreSQL (started if it is not running) and a scratch Redis database, as
    run_against() takes them in place of a runner's service containers (notebook 13)."""
    from course import envfile, services
    from course.measuring.bench import BENCH_REDIS_DB

    services.up(postgres=True, quiet=True)
    url = os.environ.get("POSTGRES_URL") or envfile.read().get("POSTGRES_URL")
    if not url:
        raise WorkflowError("the course's PostgreSQL did not start: see "
                            "`python3 -m course services status`")
    redis = services.redis_url(BENCH_REDIS_DB) or "redis://127.0.0.1:6379/14"
    return {"database_url": url, "redis_url": redis, "broker_url": redis}


def _database_named(database_url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))


@contextmanager
def _scratch_database(database_url: str, name: str) -> Iterator[str]:
    """An empty PostgreSQL database of its own for one run, as a runner's service container
    gives (its POSTGRES_DB), dropped afterwards; its address."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _database_named(database_url, name)
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'DROP DATABASE IF EXISTS "test_{name}" WITH (FORCE)')


def run_against(base: Path, workflow_text: str, breakages: Iterable[Regression] = BROKEN, *,
                database_url: str, redis_url: str, broker_url: str, workers: int = 2,
                progress: Callable[[WorkflowRun], None] | None = None) -> list[WorkflowRun]:
    """The workflow's commands run in the fixed shop at ``base`` and in a copy with each
    breakage (see ``regressions.in_copies``)."""
    def one(number: int, project: Path, breakage: Regression | None) -> WorkflowRun:
        planned = steps(load(project / WORKFLOW))
        # A database per run: the test runner makes test_<name>, so runs side by side never
        # share one.
        with _scratch_database(database_url, f"course_ci_{os.getpid()}_{number}") as url:
            return run_steps(project, planned, {"DATABASE_URL": url, "REDIS_URL": redis_url,
                                                "CELERY_BROKER_URL": broker_url},
                             label=label_of(breakage), regression=breakage)

    return in_copies(base, {WORKFLOW: workflow_text}, breakages, one,
                     lambda run: run.passed, workers=workers, progress=progress)
