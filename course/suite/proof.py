"""The proof that every grader is honest: each chapter's graders fail on the project as it is
before the chapter, and pass once the chapter is solved and on the final state.

The state after chapter N is the state before chapter N+1, so each state is
graded once, for two chapters at a time: S0 (the starter) fails chapter 01's
graders; S1 passes 01's and fails 02's; … and the final state passes every
chapter's. One grading run per state, on SQLite or PostgreSQL.

Every exercise is also graded alone on the final state (:func:`prove_alone`): a grader
must not depend on what ran before it. On SQLite that is the final state's proof for every
chapter but the last (``prove(..., together=False)``); PostgreSQL grades them all together
there, as ``course check`` with no exercise named does.

Then every course-owned wrong solution (``exercises_tests/wrong/``) is graded
in place of its exercise's step: its grader must reject it, and say why in the
words the fixture expects, so a grader cannot pass what it should not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from course import catalog as catalog_module
from course.catalog import Exercise
from course.grading import grader
from course.grading import report as report_module
from course.project import patches, states, steps


@dataclass(frozen=True)
class Expectation:
    exercise: Exercise
    passes: bool
    state: str  # "00", "03" …
    why: str  # "before chapter 04", "after chapter 03", "final"


def plan(database: str | None = None, *, together: bool = True
         ) -> list[tuple[str, list[Expectation]]]:
    """For each state, what each exercise that exists on ``database`` (None: SQLite) must do
    graded on it. With ``together`` false, the final state is asked only about the last
    chapter (the others are graded alone on it by :func:`prove_alone`)."""
    catalog = catalog_module.load()
    graded = [chapter for chapter in catalog.chapters if chapter.exercises]
    numbers = ["00", *[chapter.number for chapter in graded]]
    runs: list[tuple[str, list[Expectation]]] = []
    for index, state in enumerate(numbers):
        expected: list[Expectation] = []
        if state != "00":
            chapter = graded[index - 1]
            expected += [Expectation(e, True, state, f"after chapter {state}")
                         for e in chapter.exercises]
        if index < len(graded):
            chapter = graded[index]
            expected += [Expectation(e, False, state, f"before chapter {chapter.number}")
                         for e in chapter.exercises]
        if together and index == len(numbers) - 1:  # the final state: every chapter passes
            done = {x.exercise.id for x in expected}
            expected += [Expectation(e, True, state, "on the final state")
                         for e in catalog.exercises if e.id not in done]
        runs.append((state, [x for x in expected if x.exercise.runs_on(database)]))
    return runs


@dataclass
class Outcomes:
    """Each expectation's line, passed to ``report`` as it is judged: "ok  [db] …" when it
    held, "BAD [db] …" (kept in ``broken``) when it did not."""

    report: Callable[[str], None]
    label: str
    held: int = 0
    broken: list[str] = field(default_factory=list)

    def record(self, ok: bool, text: str, detail: str = "") -> None:
        line = f"{'ok ' if ok else 'BAD'} [{self.label}] {text}" + ("" if ok else detail)
        self.report(line)
        if ok:
            self.held += 1
        else:
            self.broken.append(line)

    def result(self) -> tuple[int, list[str]]:
        return self.held, self.broken


def partial_plan(database: str | None = None) -> list[tuple[str, list[Expectation]]]:
    """For each ``step_by_step`` chapter (the capstone), the state after each of its exercises
    but the last, a partial solution: the exercises it solved must pass, the others fail."""
    runs: list[tuple[str, list[Expectation]]] = []
    for chapter in catalog_module.load().chapters:
        if not chapter.step_by_step:
            continue
        for index, done in enumerate(chapter.exercises[:-1]):
            expected = [Expectation(exercise, position <= index, done.id,
                                    f"after {done.id}" if position <= index
                                    else f"left out by the partial solution after {done.id}")
                        for position, exercise in enumerate(chapter.exercises)]
            runs.append((done.id, [x for x in expected if x.exercise.runs_on(database)]))
    return runs


def prove(database: str | None, report, *, together: bool = True) -> tuple[int, list[str]]:
    """Grade every state once (the partial solutions of :func:`partial_plan` too);
    ``report(line)`` gets a line per exercise. Returns how many expectations held and the
    lines of those that did not. ``together``: see :func:`plan`."""
    catalog = catalog_module.load()
    outcomes = Outcomes(report, database or "sqlite")
    for state, expected in [*plan(database, together=together), *partial_plan(database)]:
        started = time.monotonic()
        target = states.reference_state(catalog, state)
        verdicts = grader.grade([x.exercise for x in expected], catalog, target=target,
                                database=database)
        for expectation, verdict in zip(expected, verdicts, strict=True):
            verb = "passes" if expectation.passes else "fails"
            outcomes.record(verdict.passed == expectation.passes,
                            f"{verdict.exercise.id} {verb} {expectation.why}: {verdict.status}",
                            f" — {verdict.message}" if verdict.message else "")
        report(f"(state after {state}: {len(expected)} exercises in "
               f"{time.monotonic() - started:.1f} s)")
    return outcomes.result()


def prove_alone(database: str | None, report) -> tuple[int, list[str]]:
    """Grade every exercise on its own, on the final reference: each must pass alone as it
    does with its chapter, so no grader depends on what ran before it. (An exercise that
    exists on one database only is graded there.)"""
    catalog = catalog_module.load()
    outcomes = Outcomes(report, database or "sqlite")
    target = states.reference_state(catalog, states.final_chapter(catalog))
    for exercise in catalog.exercises:
        [verdict] = grader.grade([exercise], catalog, target=target, database=database)
        outcomes.record(verdict.passed,
                        f"{exercise.id} passes alone on the final state: {verdict.status}",
                        f" — {verdict.message}")
    return outcomes.result()


def batches(wrongs: list[steps.Wrong]) -> list[list[steps.Wrong]]:
    """Wrong solutions grouped so one grading run checks several: per chapter, the first
    fixture of each exercise, then the second of each, …"""
    by_chapter: dict[str, dict[str, list[steps.Wrong]]] = {}
    for wrong in wrongs:
        by_chapter.setdefault(wrong.exercise.chapter_number, {}).setdefault(
            wrong.exercise.id, []).append(wrong)
    grouped = []
    for exercises in by_chapter.values():
        for round_ in range(max(len(found) for found in exercises.values())):
            grouped.append([found[round_] for found in exercises.values() if round_ < len(found)])
    return grouped


def _judged(wrong: steps.Wrong, verdict: grader.Verdict) -> tuple[bool, str]:
    message, hint = report_module.split_hint(verdict.message)
    ok = not verdict.passed and wrong.rejected_with in message and hint == wrong.hint
    detail = "" if ok else (f" — expected a message saying {wrong.rejected_with!r} with hint "
                            f"{wrong.hint}, got: {message or '(none)'} (hint {hint})")
    return ok, detail


def prove_wrong(database: str | None, report,
                only: list[str] | None = None) -> tuple[int, list[str]]:
    """Grade every course-owned wrong solution (or those of the exercises or chapters in
    ``only``) in place of its exercise's step: each must be rejected with its words. On
    PostgreSQL, by default, only the ``database_bound`` chapters' and the PostgreSQL-only
    exercises' (the others' graders do not depend on the database: SQLite proves them).

    Several fixtures of one chapter are graded in one run (:func:`batches`); one that a
    batch does not reject, or a batch whose fixtures do not apply together, is graded
    again on its own, so fixtures cannot mask or excuse each other."""
    catalog = catalog_module.load()
    outcomes = Outcomes(report, database or "sqlite")
    wanted = [wrong for wrong in steps.wrong_solutions(catalog)
              if (any(wrong.exercise.id == x or wrong.exercise.chapter_number == x
                      for x in only) if only else wrong.exercise.runs_on(database))]
    if database and not only:  # on PostgreSQL: the chapters whose graders read the database
        bound = {chapter.number for chapter in catalog.chapters if chapter.database_bound}
        wanted = [wrong for wrong in wanted
                  if wrong.exercise.chapter_number in bound or wrong.exercise.database]
    for batch in batches(wanted):
        verdicts: dict[str, grader.Verdict] = {}
        if len(batch) > 1:
            try:
                target = states.wrong_batch_state(catalog, batch)
            except patches.PatchError:
                target = None
            if target is not None:
                found = grader.grade([wrong.exercise for wrong in batch], catalog,
                                     target=target, database=database)
                verdicts = {verdict.exercise.id: verdict for verdict in found}
        for wrong in batch:
            verdict = verdicts.get(wrong.exercise.id)
            if verdict is None or not _judged(wrong, verdict)[0]:
                try:
                    target = states.wrong_state(catalog, wrong)
                except patches.PatchError as error:
                    outcomes.record(False, f"{wrong.exercise.id} {wrong.path.name}: {error}")
                    continue
                [verdict] = grader.grade([wrong.exercise], catalog, target=target,
                                         database=database)
            ok, detail = _judged(wrong, verdict)
            outcomes.record(ok, f"{wrong.exercise.id} rejects {wrong.path.name}: "
                                f"{verdict.status} ({verdict.duration:.1f} s)", detail)
    return outcomes.result()


def main(argv: list[str] | None = None) -> int:
    """For maintainers writing wrong solutions:

    ``python3 -m course.suite.proof before 02.4 DIR`` writes the project as it is before
    02.4 into DIR, a git repository with one commit: break it there, then put a few lines
    saying what is wrong, ``rejected: <words>`` (and ``hint: N``) above ``git diff`` in
    ``exercises_tests/wrong/02.4-what.diff``.

    ``python3 -m course.suite.proof wrong [02.4 05 …] [--db postgres]`` grades those
    wrong solutions (all by default) and says whether each was rejected for its reason.
    """
    import argparse
    import shutil
    import subprocess
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python3 -m course.suite.proof",
                                     description=main.__doc__.splitlines()[0])
    parser.add_argument("action", choices=["before", "wrong"])
    parser.add_argument("ids", nargs="*")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args(argv)
    catalog = catalog_module.load()
    if args.action == "before":
        if len(args.ids) != 2:
            parser.error("before takes an exercise id and a new folder: before 02.4 DIR")
        exercise, folder = catalog.exercise(args.ids[0]), Path(args.ids[1])
        if folder.exists():
            parser.error(f"{folder} exists already: name a new folder")
        shutil.copytree(states.state_before(catalog, exercise), folder,
                        ignore=shutil.ignore_patterns(".course-state", "__pycache__"))
        git = ["git", "-C", str(folder), "-c", "user.name=course", "-c",
               "user.email=course@localhost"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", f"before {exercise.id}"], check=True)
        print(f"{folder}: the project before {exercise.id}. Edit, then: "
              f"git -C {folder} diff")
        return 0
    held, broken = prove_wrong(None if args.db == "sqlite" else args.db,
                               lambda line: print(line, flush=True), args.ids or None)
    print(f"{held} rejected as expected, {len(broken)} not")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
