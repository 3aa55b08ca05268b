"""Verbs for instructors and maintainers: grade a room, bench a project, run the test suite."""

from __future__ import annotations

import argparse
from pathlib import Path

from course.cli.common import EXIT_OK, catalog, console


def cmd_grade(args: argparse.Namespace) -> int:
    from rich.table import Table

    from course.grading import grader

    cat = catalog()
    exercises = cat.select(args.selector)
    marks = {grader.PASSED: "✓", grader.NOT_ATTEMPTED: "·", grader.FAILED: "✗",
             grader.TIMED_OUT: "⌛", grader.ERROR: "!"}
    table = Table(box=None, pad_edge=False)
    table.add_column("learner", overflow="fold")
    for exercise in exercises:
        table.add_column(exercise.id, justify="center")
    table.add_column("passed", justify="right")
    for folder in args.projects:
        root = Path(folder).resolve()
        project = root / "starter_project" if (root / "starter_project").is_dir() else root
        if not (project / "manage.py").exists():
            table.add_row(str(folder), *[""] * len(exercises),
                          "not a course checkout or starter_project/ (no manage.py)")
            continue
        verdicts = grader.grade(exercises, cat, target=project, time_limit=args.timeout)
        table.add_row(str(folder), *(marks[v.status] for v in verdicts),
                      f"{sum(v.passed for v in verdicts)}/{len(verdicts)}")
    out = console()
    out.print(table)
    out.print("\n✓ passed  ✗ failed  · not attempted  ⌛ timed out  ! broken file")
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from course import catalog
    from course.measuring import bench, measure
    from course.project import commands, states

    db = args.db or commands.learner_db()
    source = "the course's PostgreSQL database" if db == "postgres" else commands.learner_sqlite()
    through = args.through or states.final_chapter(catalog.load())
    print(f"Measuring starter_project/ and the reference after chapter {through} "
          f"on a copy of {source} …", flush=True)
    rows = bench.compare_states(reference_through=through, repeat=args.repeat,
                                pages=args.page, db=db)
    print(measure.table(rows))
    print("(yours = your starter_project/; reference = the reference solution; speedup = "
          "your median over the reference's)")
    return EXIT_OK


def cmd_test(args: argparse.Namespace) -> int:
    from course.suite import runner

    return runner.run(skip=set(args.skip or ()), only=set(args.only or ()), jobs=args.jobs)


def register(verb) -> None:
    test = verb("test", cmd_test, "run the course's whole test suite (what CI runs)")
    parts = ["lint", "tooling", "shop", "proof", "wrong", "postgres", "postgres-wrong",
             "notebooks"]  # course.suite.parts.PARTS (a test keeps them the same)
    test.add_argument("--skip", action="append", choices=parts, help="skip a part (repeatable)")
    test.add_argument("--only", action="append", choices=parts, help="run only these parts")
    test.add_argument("--jobs", type=int, metavar="N",
                      help="parts run side by side (default: the number of CPUs)")

    bench = verb("bench", cmd_bench, "measure every page: your starter_project/ vs the reference")
    bench.add_argument("--through", metavar="NN", help="reference after chapter NN (default: last)")
    bench.add_argument("--repeat", type=int, default=3, help="timed runs per page (default 3)")
    bench.add_argument("--page", action="append", help="only this page (repeatable)")
    bench.add_argument("--db", choices=["sqlite", "postgres"], default=None,
                       help="copy which database (default: the one your project uses)")

    grade = verb("grade", cmd_grade,
                 "instructors: grade several learners' checkouts into one table")
    grade.add_argument("projects", nargs="+", help="learners' course checkouts (or starter_project/)")
    grade.add_argument("--chapter", dest="selector", help="only this chapter (NN) or exercise")
    grade.add_argument("--timeout", type=int, default=90, help="seconds per test (default 90)")
