"""The learner's verbs: check, watch, hint, solution, apply, reset, progress."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from course import paths
from course.cli.common import EXIT_FAILED, EXIT_OK, CourseError, catalog, colour, console, target


def cmd_check(args: argparse.Namespace) -> int:
    from course.grading import grader, progress, report

    cat = catalog()
    exercises = cat.select(args.selector)
    project, label = target(args.reference)
    shown = "the reference solution" if args.reference else "starter_project/"
    # An exercise that exists on one database only is graded there.
    elsewhere = [f"{e.id} on {e.database}, its only database"
                 for e in exercises if not e.runs_on(args.db)]
    print(f"Checking {len(exercises)} exercise(s) against {shown} "
          f"({'; '.join([args.db or 'sqlite', *elsewhere])}) …", flush=True)
    started = time.monotonic()
    verdicts = grader.grade(exercises, cat, target=project, time_limit=args.timeout,
                            database=args.db)
    progress.record_verdicts(verdicts, label)
    print(report.text_table(verdicts, colour=colour()))
    if not args.reference:
        from course.project import layout

        for item in layout.leftovers():
            note = layout.notice(item, {exercise.id for exercise in exercises})
            if note:
                print(f"Note: {note}")
    print(f"({time.monotonic() - started:.1f} s)")
    _note_database()
    return EXIT_OK if all(v.passed for v in verdicts) else EXIT_FAILED


def cmd_watch(args: argparse.Namespace) -> int:
    from course.grading import grader, progress, report, watch

    cat = catalog()
    queue = watch.queue_for(cat, args.selector, set(progress.load().passed))

    def check(exercise) -> grader.Verdict:
        started = time.monotonic()
        verdict = grader.grade([exercise], cat, target=paths.STARTER,
                               time_limit=args.timeout)[0]
        progress.record_verdicts([verdict], "starter")
        line = (f"[{time.strftime('%H:%M:%S')}] {exercise.id} {verdict.status} "
                f"({time.monotonic() - started:.1f} s)")
        measured = verdict.measured_text()
        print(line + (f" — measured: {measured}" if measured else ""), flush=True)
        for paragraph in report.explanation(verdict).splitlines():
            print(f"    {paragraph}", flush=True)
        return verdict

    watcher = watch.Watcher(paths.STARTER, queue, check, lambda text: print(text, flush=True))
    try:
        watcher.run()
    except KeyboardInterrupt:
        print("\nStopped watching.")
    return EXIT_OK


def _note_database() -> None:
    """Checks grade on a test database of their own; the shop the notebooks and the browser
    use may not exist yet: say so, and what to run."""
    from course.project import commands

    problem = commands.learner_database_problem()
    if problem:
        print(f"Note: your shop's own database is {problem} (the checks above used a test "
              "database of their own).")


def cmd_hint(args: argparse.Namespace) -> int:
    from course.grading import progress

    exercise = catalog().exercise(args.exercise)
    if not exercise.hints:
        raise CourseError(f"exercise {exercise.id} has no hints")
    index = progress.next_hint_index(exercise.id, len(exercise.hints))
    print(f"{exercise.id} {exercise.title} — hint {index + 1} of {len(exercise.hints)}\n")
    print(exercise.hints[index])
    if index + 1 < len(exercise.hints):
        print(f"\n(run `python3 -m course hint {exercise.id}` again for the next hint)")
    else:
        print(f"\nThat was the last hint. Still stuck? `python3 -m course solution "
              f"{exercise.id}` shows the reference change for this exercise only, and "
              f"`python3 -m course apply {exercise.id}` puts it in your project (after a "
              "backup).")
    return EXIT_OK


def cmd_solution(args: argparse.Namespace) -> int:
    from course.grading import progress
    from course.project import solutions

    exercise = catalog().exercise(args.exercise)
    if exercise.id not in progress.load().passed and not args.yes:
        print(
            f"{exercise.id} has not passed a check yet (`python3 -m course check {exercise.id}`)."
        )
        if not sys.stdin.isatty() or input("Show the solution anyway? [y/N] ").lower() != "y":
            print("Not shown. Use --yes to skip this question.")
            return EXIT_OK
    print(solutions.diff(catalog(), exercise, colour=colour()))
    return EXIT_OK


def cmd_apply(args: argparse.Namespace) -> int:
    from course.project import workspace

    change = workspace.apply_chapter(catalog(), args.chapter, force=args.force)
    print(change.describe())
    return EXIT_OK


def cmd_reset(args: argparse.Namespace) -> int:
    from course.grading import progress
    from course.project import workspace

    cat = catalog()
    if "all" in args.selectors:
        exercises = list(cat.exercises)
    else:
        exercises = []
        for selector in args.selectors:
            exercises.extend(e for e in cat.select(selector) if e not in exercises)
    if "all" in args.selectors and not args.yes:
        answer = input("Reset every exercise file to the starter as shipped? [y/N] ") \
            if sys.stdin.isatty() else ""
        if answer.lower() != "y":
            print("Nothing changed. Use --yes to skip this question.")
            return EXIT_OK
    change = workspace.reset_exercises(cat, exercises, force=args.force,
                                       whole_files=args.whole_file,
                                       checked=progress.checked_exercises())
    print(change.describe())
    return EXIT_FAILED if change.kept else EXIT_OK


def cmd_progress(args: argparse.Namespace) -> int:
    from rich.table import Table

    from course.grading import progress

    cat = catalog()
    if args.scorecard:
        from course.grading import scorecard

        path, text = scorecard.write(cat, Path(args.out) if args.out else None)
        print(text)
        print(f"Written to {path}: paste it into an issue, a pull request or a chat.")
        return EXIT_OK
    if args.plain or args.html:
        from course.grading import progress_report

        lines = progress_report.chapters(cat)
        if args.html:
            path = progress_report.write_html(lines, Path(args.out) if args.out else None)
            print(f"Written to {path}: open it in a browser, or send it as it is (one file).")
        else:
            sys.stdout.write(progress_report.plain(lines))
        return EXIT_OK
    done = progress.load().passed
    latest = progress.latest_measurements(progress.ledger_entries())
    table = Table(title="Django Under Load — progress", title_justify="left", box=None,
                  show_header=False, pad_edge=False)
    table.add_column(min_width=2, no_wrap=True)
    table.add_column(no_wrap=True, max_width=40, overflow="ellipsis")
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    numbers: list[str] = []
    for chapter in cat.chapters:
        count = len(chapter.exercises)
        passed = sum(ex.id in done for ex in chapter.exercises)
        if not count:
            table.add_row(chapter.number, chapter.title, "", "guided tour, no graded exercises")
            continue
        marks = " ".join(f"{ex.id}{'✓' if ex.id in done else '·'}" for ex in chapter.exercises)
        bar = "#" * round(10 * passed / count)
        table.add_row(chapter.number, chapter.title, f"[{bar:<10}] {passed}/{count}", marks)
        for ex in chapter.exercises:
            yours = latest.get((ex.id, "starter"))
            reference = latest.get((ex.id, "reference"))
            if yours or reference:
                numbers.append(f"  {ex.id} yours: {progress.measured_summary(yours)}")
                if reference:
                    numbers.append(f"       reference: {progress.measured_summary(reference)}")
    out = console()
    out.print(table)
    if numbers:
        out.print("\nWhat your last checks measured:", markup=False)
        for line in numbers:
            out.print(line, markup=False, overflow="fold")
    out.print(f"\n{len(done)}/{len(cat.exercises)} exercises passed. "
              f"Progress file: {paths.PROGRESS_FILE}", markup=False)
    _note_database()
    return EXIT_OK


def register(verb) -> None:
    check = verb("check", cmd_check, "grade exercises: all, a chapter (01) or one (01.2)")
    check.add_argument("selector", nargs="?", help="chapter NN or exercise NN.M (default: all)")
    check.add_argument("--reference", action="store_true",
                       help="grade the reference solution instead of your starter_project/")
    check.add_argument("--db", choices=["sqlite", "postgres"], default=None,
                       help="database to grade on (default sqlite)")
    check.add_argument("--timeout", type=int, default=90, help="seconds per test (default 90)")

    watched = verb("watch", cmd_watch,
                   "check the exercise at hand each time you save a file of starter_project/")
    watched.add_argument("selector", nargs="?",
                         help="chapter NN or exercise NN.M to start from (default: the first "
                              "exercise not passed yet)")
    watched.add_argument("--timeout", type=int, default=90,
                         help="seconds per test (default 90)")

    hint = verb("hint", cmd_hint, "show the next hint for an exercise")
    hint.add_argument("exercise", help="exercise id, e.g. 01.2")

    solution = verb("solution", cmd_solution,
                    "show an exercise's reference solution (its change only) as a diff")
    solution.add_argument("exercise", help="exercise id, e.g. 01.2")
    solution.add_argument("--yes", action="store_true", help="show it even if not passed yet")

    apply = verb("apply", cmd_apply, "fast-forward starter_project/ to the state after a chapter")
    apply.add_argument("chapter", help="chapter number, e.g. 03")
    apply.add_argument("--force", action="store_true", help="run even with uncommitted changes")

    reset = verb("reset", cmd_reset,
                 "put an exercise's code (NN.M), a chapter's (NN) or all back as shipped")
    reset.add_argument("selectors", nargs="+", metavar="selector",
                       help="NN.M, NN or all (several: `reset 02.4 04.1`)")
    reset.add_argument("--force", action="store_true", help="run even with uncommitted changes")
    reset.add_argument("--whole-file", action="store_true",
                       help="also put back files that hold your work on other exercises "
                       "(that work goes to the backup too)")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    shown = verb("progress", cmd_progress, "show your progress, chapter by chapter")
    shown.add_argument("--scorecard", action="store_true",
                       help="every check of the course as one Markdown table to share, from "
                       "your last checks (written to .course/reports/scorecard.md)")
    shown.add_argument("--plain", action="store_true",
                       help="plain text to paste into a chat or an issue (no colour)")
    shown.add_argument("--html", action="store_true",
                       help="one self-contained page (written to .course/reports/progress.html)")
    shown.add_argument("--out", metavar="FILE",
                       help="with --scorecard or --html: write it here instead")
