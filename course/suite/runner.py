"""``course test``: the project's whole test suite, the command CI runs.

Parts, in order (``--only`` / ``--skip`` pick some):

- ``lint``: ruff over the tooling, graders, starter and solutions;
- ``tooling``: unit tests of ``course/`` (services, catalog consistency, apply/reset safety …);
- ``shop``: the starter project's own tests, on the starter and on the final reference state;
- ``proof``: for every chapter, its graders fail on the state before it and
  pass on the state after it and on the final state (SQLite);
- ``postgres``: the same proof on a real PostgreSQL;
- ``notebooks``: every notebook run top to bottom under nbval, on a throw-away database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from course import catalog as catalog_module
from course import paths
from course.grading import grader
from course.project import commands, states

PARTS = ("lint", "tooling", "shop", "proof", "postgres", "notebooks")


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, ok: bool, label: str) -> None:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.problems.append(label)


def _heading(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


def _run(command: list[str], **kwargs: object) -> int:
    print("$ " + " ".join(Path(c).name if c == sys.executable else c for c in command),
          flush=True)
    return subprocess.run(command, cwd=paths.ROOT, **kwargs).returncode  # type: ignore[arg-type]


def part_lint(tally: Tally) -> None:
    code = _run([sys.executable, "-m", "ruff", "check", "course", "exercises_tests",
                 "starter_project", "solutions"])
    tally.add(code == 0, "lint: ruff found problems")


def part_tooling(tally: Tally) -> None:
    code = _run([sys.executable, "-m", "pytest", "course/tests", "-q", "-p", "no:cacheprovider"])
    tally.add(code == 0, "tooling: unit tests failed")


def part_shop(tally: Tally) -> None:
    catalog = catalog_module.load()
    final = states.reference_state(catalog, states.final_chapter(catalog))
    for label, target in (("starter", paths.STARTER), ("final reference", final)):
        print(f"$ manage.py test shop  ({label})", flush=True)
        try:
            commands.manage("test", "shop", "-v1", "--noinput", target=target)
            tally.add(True, "")
        except subprocess.CalledProcessError:
            tally.add(False, f"shop: the project's tests failed on the {label} state")


def prove_chapters(tally: Tally, database: str | None) -> None:
    """Fail before, pass after, pass on the final state, for every chapter."""
    catalog = catalog_module.load()
    final = states.reference_state(catalog, states.final_chapter(catalog))
    label = database or "sqlite"
    for chapter in catalog.chapters:
        if not chapter.exercises:
            continue
        exercises = list(chapter.exercises)
        before = states.reference_state(
            catalog, states.previous_chapter(catalog, chapter.number)
        )
        after = states.reference_state(catalog, chapter.number)
        runs = [("before", before, False), ("after", after, True)]
        if after != final:
            runs.append(("final", final, True))
        for name, state, should_pass in runs:
            started = time.monotonic()
            verdicts = grader.grade(exercises, catalog, target=state, database=database)
            for verdict in verdicts:
                ok = verdict.passed == should_pass
                expectation = "passes" if should_pass else "fails"
                line = (f"  {'ok ' if ok else 'BAD'} [{label}] {verdict.exercise.id} "
                        f"{expectation} on the state {name} chapter {chapter.number}: "
                        f"{verdict.status}")
                if not ok and verdict.message:
                    line += f" — {verdict.message}"
                print(line, flush=True)
                tally.add(ok, line.strip())
            print(f"  ({name}: {time.monotonic() - started:.1f} s)", flush=True)


def part_proof(tally: Tally) -> None:
    prove_chapters(tally, None)


def part_postgres(tally: Tally) -> None:
    from course import services

    was_running = services.status().postgres_running
    services.up(postgres=True, quiet=True)
    try:
        prove_chapters(tally, "postgres")
    finally:
        if not was_running:
            services.down()


def part_notebooks(tally: Tally) -> None:
    notebooks = sorted(str(p.relative_to(paths.ROOT)) for p in paths.NOTEBOOKS.glob("*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="course-notebooks-") as tmp:
        database = str(Path(tmp) / "notebooks.sqlite3")
        commands.prepare_database("small", COURSE_SQLITE_PATH=database)
        env = dict(os.environ, COURSE_SQLITE_PATH=database, COURSE_HOME=str(Path(tmp) / "home"),
                   MPLBACKEND="Agg")
        try:
            code = _run([sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider",
                         "-q", "--nbval-cell-timeout=600", *notebooks], env=env)
        finally:  # the notebooks' checks start services in this throw-away home: stop them
            subprocess.run([sys.executable, "-m", "course", "services", "down"], env=env,
                           cwd=paths.ROOT, capture_output=True, check=False)
    tally.add(code == 0, "notebooks: a notebook failed under nbval")


RUNNERS: dict[str, Callable[[Tally], None]] = {
    "lint": part_lint,
    "tooling": part_tooling,
    "shop": part_shop,
    "proof": part_proof,
    "postgres": part_postgres,
    "notebooks": part_notebooks,
}


def run(*, skip: set[str], only: set[str]) -> int:
    from course import services

    tally = Tally()
    started = time.monotonic()
    services_were_up = services.status().supervisor
    try:
        for part in PARTS:
            if part in skip or (only and part not in only):
                continue
            _heading(part)
            part_started = time.monotonic()
            RUNNERS[part](tally)
            print(f"({part}: {time.monotonic() - part_started:.0f} s)", flush=True)
    finally:
        if not services_were_up and services.status().supervisor:
            services.down()  # the graders started them; leave the machine as we found it
    _heading("summary")
    for problem in tally.problems:
        print(f"  FAILED {problem}")
    print(f"course test finished in {time.monotonic() - started:.0f} s")
    print(f"{tally.passed} passed, {tally.failed} failed")
    return 0 if tally.failed == 0 else 1
