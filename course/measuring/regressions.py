"""Versions of the shop with one performance regression put back, and a test module run
against each of them: how exercise 13.3 grades a learner's performance tests (they must fail
on every regressed shop and pass on the fixed one), and what notebook 13 shows.

A regression is a few edits to a copy of the fixed shop, each one a change a real commit
makes by accident: a ``prefetch_related`` lost in a refactor, an index dropped by a
migration, a cache timeout of 0 left from a debugging session.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

TEST_FILE = "shop/tests/test_performance.py"
TEST_MODULE = "shop.tests.test_performance"
RUN_TIMEOUT = 180  # seconds for one run of the module: seeding, migrations, the tests
R = TypeVar("R")  # what one run in a copy gives back


@dataclass(frozen=True)
class Regression:
    name: str
    says: str  # what the regressed shop does, in a sentence's words: "the order list runs …"
    kind: str  # "an N+1", "a lost index", "a cache that no longer hits"
    edits: tuple[tuple[str, str, str], ...]  # (file, text, replacement), each text found once
    # (file, content) written new; "{latest}" in a migration's content becomes the name of
    # the project's newest migration, which it then follows
    added: tuple[tuple[str, str], ...] = ()


LOST_INDEX_MIGRATION = '''from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "{latest}")]

    operations = [
        migrations.RemoveIndex(model_name="order", name="order_customer_recent_idx"),
    ]
'''

REGRESSIONS: tuple[Regression, ...] = (
    Regression(
        name="catalogue-tags-one-by-one",
        says="the catalogue reads each product's tags with a query of its own",
        kind="an N+1",
        edits=(("shop/selectors.py", '        .prefetch_related("tags")', ""),),
    ),
    Regression(
        name="order-list-customers-one-by-one",
        says="the order list reads each order's customer with a query of its own",
        kind="an N+1",
        edits=(("shop/views/order_list.py", '        .select_related("customer")\n', ""),),
    ),
    Regression(
        name="dashboard-index-dropped",
        says="a migration drops the index that reads a customer's latest orders "
             "(order_customer_recent_idx)",
        kind="a lost index",
        edits=(("shop/models.py",
                '            models.Index(fields=["customer", "-created_at"], '
                'name="order_customer_recent_idx"),\n', ""),),
        added=(("shop/migrations/0999_drop_order_customer_recent_idx.py",
                LOST_INDEX_MIGRATION),),
    ),
    Regression(
        name="catalogue-cache-never-kept",
        says="the catalogue's cache timeout is 0, so no visit is ever served from the cache",
        kind="a cache that no longer hits",
        edits=(("shop/views/product_list.py", "CATALOGUE_CACHE_SECONDS = 5 * 60",
                "CATALOGUE_CACHE_SECONDS = 0  # while checking a price change"),),
    ),
)


class RegressionDoesNotApply(RuntimeError):
    """The fixed shop no longer has the text a regression edits: the course must be updated."""


def regressed(project: Path, regression: Regression) -> None:
    """Put ``regression`` back into the copy of the shop at ``project``."""
    for relative, text, replacement in regression.edits:
        path = project / relative
        source = path.read_text() if path.exists() else ""
        if source.count(text) != 1:
            raise RegressionDoesNotApply(
                f"{regression.name}: {relative} has {source.count(text)} copies of {text!r}")
        path.write_text(source.replace(text, replacement))
    for relative, content in regression.added:
        if "{latest}" in content:
            content = content.replace("{latest}", latest_migration(project / relative).stem)
        (project / relative).write_text(content)


def latest_migration(added: Path) -> Path:
    """The newest migration beside ``added`` (by number, as makemigrations names them): the
    one a migration written into that folder follows."""
    numbered = sorted(path for path in added.parent.glob("[0-9][0-9][0-9][0-9]_*.py")
                      if path != added)
    if not numbered:
        raise RegressionDoesNotApply(f"{added.parent} has no migration to follow")
    return numbered[-1]


@dataclass
class TestRun:
    label: str  # "the fixed shop" or a regression's name
    regression: Regression | None
    returncode: int
    ran: int  # tests run, as the runner reported
    problems: list[str] = field(default_factory=list)  # "FAIL: test_x (module.Class.test_x)"
    seconds: float = 0.0
    output: str = ""

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and self.ran > 0

    def first_problem(self) -> str:
        """The first failing test and the last line of its traceback, for a one-line answer."""
        if self.problems:
            return self.problems[0]
        lines = [line for line in self.output.strip().splitlines() if line.strip()]
        return lines[-1] if lines else "no output"


_RAN = re.compile(r"^Ran (\d+) tests? in", re.MULTILINE)
_PROBLEM = re.compile(r"^(FAIL|ERROR): (\S+) \(([^)]*)\)", re.MULTILINE)
_SEPARATOR = "-" * 70


def _problems(output: str) -> list[str]:
    """One line per failing test: its name and the first line of what it raised."""
    found = []
    for block in output.split("=" * 70):
        match = _PROBLEM.search(block)
        if not match:
            continue
        parts = block.split(_SEPARATOR)
        traceback = parts[1] if len(parts) > 1 else ""
        lines = traceback.strip().splitlines()
        last_frame = max((n for n, line in enumerate(lines) if line.startswith("  File ")),
                         default=-1)
        raised = [line for line in lines[last_frame + 1:]
                  if line.strip() and not line.startswith(" ")]
        found.append(f"{match.group(1)}: {match.group(2)}: {raised[0][:300] if raised else ''}")
    return found


def project_env(database: Path) -> dict[str, str]:
    """The environment a test run gets: the development settings on SQLite (the test runner
    makes its database in memory), nothing from the course's env file or a replica."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "COURSE_DB", "DATABASE_REPLICA_URL",
                          "DJANGO_SETTINGS_MODULE", "PYTHONPATH"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.dev", COURSE_SQLITE_PATH=str(database),
               PYTHONDONTWRITEBYTECODE="1", COURSE_ENV_FILE=os.devnull,
               DATABASE_REPLICA_URL="")
    return env


def run_module(project: Path, label: str, regression: Regression | None = None,
               python: str = sys.executable) -> TestRun:
    """``manage.py test shop.tests.test_performance`` in ``project``: what it reported."""
    started = time.monotonic()
    try:
        completed = subprocess.run(
            [python, "manage.py", "test", TEST_MODULE, "--noinput", "-v", "1"],
            cwd=project, env=project_env(project / "unused.sqlite3"),
            capture_output=True, text=True, timeout=RUN_TIMEOUT)
        output, code = completed.stdout + completed.stderr, completed.returncode
    except subprocess.TimeoutExpired as expired:
        output = (f"{expired.stdout or ''}{expired.stderr or ''}\n"
                  f"the tests ran for more than {RUN_TIMEOUT} s and were stopped")
        code = -1
    ran = _RAN.search(output)
    return TestRun(label, regression, code, int(ran.group(1)) if ran else 0, _problems(output),
                   time.monotonic() - started, output)


FIXED = "the fixed shop"  # the label of the run with nothing changed


def label_of(change: Regression | None) -> str:
    return change.name if change is not None else FIXED


def _copy(base: Path, into: Path) -> Path:
    shutil.copytree(base, into, ignore=shutil.ignore_patterns(
        "__pycache__", ".course-state", "*.sqlite3", "media"))
    return into


def in_copies(base: Path, files: dict[str, str], changes: Iterable[Regression],
              run: Callable[[int, Path, Regression | None], R],
              passed: Callable[[R], bool], *, workers: int = 2,
              progress: Callable[[R], None] | None = None) -> list[R]:
    """``run(number, project, change)`` in copies of the shop at ``base``, each with
    ``files`` (relative path → text) written in: first the fixed shop, alone, then, if it
    ``passed``, one copy per change, ``workers`` at a time, in ``changes``' order. When the
    fixed shop does not pass, its run is all there is: what fails with nothing changed tells
    nothing about a change."""
    with tempfile.TemporaryDirectory(prefix="course-copies-") as folder:
        def one(number: int, change: Regression | None) -> R:
            project = _copy(base, Path(folder) / f"shop-{number}")
            for relative, text in files.items():
                (project / relative).parent.mkdir(parents=True, exist_ok=True)
                (project / relative).write_text(text)
            if change is not None:
                regressed(project, change)
            result = run(number, project, change)
            if progress is not None:
                progress(result)
            return result

        runs = [one(0, None)]
        if not passed(runs[0]):
            return runs
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            runs.extend(pool.map(lambda job: one(*job), enumerate(changes, start=1)))
        return runs


def run_against(base: Path, tests: str, regressions: Iterable[Regression] = REGRESSIONS, *,
                workers: int = 2,
                progress: Callable[[TestRun], None] | None = None) -> list[TestRun]:
    """The test module ``tests`` (its source) run against the fixed shop at ``base`` and
    against a copy with each regression put back (see ``in_copies``)."""
    return in_copies(base, {TEST_FILE: tests}, regressions,
                     lambda _, project, change: run_module(project, label_of(change), change),
                     lambda run: run.passed, workers=workers, progress=progress)
