"""Verbs for instructors and maintainers: grade a room, bench a project, run the test suite."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course import paths
from course.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, console


def cmd_grade(args: argparse.Namespace) -> int:
    from rich.table import Table

    from course.grading import room

    only = ",".join(filter(None, [args.only, args.selector]))
    try:
        learners, ids, out = room.grade_room([Path(folder) for folder in args.projects], only=only,
                                        test_limit=args.timeout,
                                        learner_limit=args.learner_timeout, jobs=args.jobs,
                                        out=Path(args.out) if args.out else None)
    except FileExistsError as error:
        console().print(f"[red]{error.filename} exists already: name another --out folder[/]")
        return EXIT_USAGE
    table = Table(box=None, pad_edge=False)
    table.add_column("learner", overflow="fold")
    for ident in ids:
        table.add_column(str(ident), justify="center")
    table.add_column("passed", justify="right")
    table.add_column("notes", overflow="fold")
    for learner in learners:
        marks = [room.MARKS.get(str(v["status"]), "?") for v in learner.verdicts]
        notes = learner.problem or "; ".join(
            (["stopped at the time limit"] if learner.stopped else [])
            + [f"refused: {what}" for what in learner.refused[:2]])
        table.add_row(learner.name, *(marks or [""] * len(ids)),
                      f"{learner.passed}/{len(ids)}", notes)
    out_console = console()
    out_console.print(table)
    out_console.print("\n✓ passed  ✗ failed  · not attempted  ⌛ timed out  ! broken file  – not "
                      "graded")
    out_console.print(f"Table: {out / 'grades.csv'}\nReport: {out / 'report.html'}\n"
                      f"Each learner's output: {out / 'learners'}")
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from course import catalog
    from course.measuring import bench, measure
    from course.project import commands, states

    if args.full:
        return _full_bench(args)
    db = args.db or commands.learner_db()
    source = "the course's PostgreSQL database" if db == "postgres" else commands.learner_sqlite()
    through = args.through or states.final_chapter(catalog.load())
    print(f"Measuring starter_project/ and the reference after chapter {through} "
          f"on a copy of {source} …", flush=True)
    rows = bench.compare_states(reference_through=through, repeat=args.repeat or 3,
                                pages=args.page, db=db)
    print(measure.table(rows))
    print("(yours = your starter_project/; reference = the reference solution; speedup = "
          "your median over the reference's)")
    return EXIT_OK


def _full_bench(args: argparse.Namespace) -> int:
    import os

    from course import catalog, paths
    from course.measuring import full_bench
    from course.project import states

    if args.db:  # every part reads the learner's choice of database the same way
        os.environ["COURSE_DB"] = args.db
    cat = catalog.load()
    through = args.through or states.final_chapter(cat)
    other = ("reference", states.reference_state(cat, through)) if args.reference \
        else ("yours", paths.STARTER)
    print(f"Full bench: the starter as shipped against {other[0]} "
          f"({other[1]}), on copies of {full_bench.data_described()} …", flush=True)
    path = full_bench.run({"starter": states.reference_state(cat, "00"), other[0]: other[1]},
                          repeat=args.repeat or 10, users=args.users, seconds=args.seconds,
                          report=lambda line: print(line, flush=True))
    text = path.read_text(encoding="utf-8")
    ratios = text.split("## Ratios", 1)[1].split("\n\n", 2)[:2]
    print("\nRatios" + "\n\n".join(ratios).rstrip())
    print(f"\nThe report, with every table and its charts: {path}")
    return EXIT_OK


def cmd_wheelhouse(args: argparse.Namespace) -> int:
    from course.setup import wheelhouse

    try:
        platforms = wheelhouse.parse_platforms(args.platforms)
        pythons = wheelhouse.parse_pythons(args.python)
    except wheelhouse.WheelhouseError as error:
        console().print(f"[red]{error}[/]")
        return EXIT_USAGE
    if args.check:
        print(f"Resolving the pinned stack for {len(platforms) * len(pythons)} machine(s) "
              "(no wheel downloaded) …", flush=True)
        targets = wheelhouse.check(platforms, pythons,
                                   progress=lambda line: print(line, flush=True))
        return EXIT_OK if all(t.complete and not t.missing for t in targets) else EXIT_FAILED
    dest = Path(args.out).resolve() if args.out else paths.ROOT / "wheelhouse"
    print(f"Downloading the pinned stack's wheels for {len(platforms) * len(pythons)} "
          f"machine(s) into {dest} …", flush=True)
    targets = wheelhouse.build(platforms, pythons, dest,
                               progress=lambda line: print(line, flush=True))
    print(f"\n{wheelhouse.size(dest) / 2**20:,.0f} MiB in {len(list(dest.glob('*.whl')))} "
          f"wheels; what each machine got: {dest / wheelhouse.MANIFEST}")
    for target in targets:
        if target.missing or not target.complete:
            print(f"  {target.label}: " + "; ".join(filter(None, [
                target.problem, *(f"no wheel for {line}" for line in target.missing)])))
    named = "" if dest.name == "wheelhouse" else f" (named wheelhouse/, not {dest.name}/)"
    print(f"Hand it out: copy {dest} into each learner's course folder{named}, next to "
          "requirements.txt. `python3 -m course lab` then installs from it, with no network.")
    return EXIT_OK if all(t.complete for t in targets) else EXIT_FAILED


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
    bench.add_argument("--repeat", type=int, default=None,
                       help="timed runs per page (default 3; 10 with --full)")
    bench.add_argument("--page", action="append", help="only this page (repeatable)")
    bench.add_argument("--db", choices=["sqlite", "postgres"], default=None,
                       help="copy which database (default: the one your project uses)")
    bench.add_argument("--full", action="store_true",
                       help="the starter as shipped against yours (or --reference): pages, load "
                       "behind nginx, visits, production checks; a Markdown report and charts "
                       "under .course/reports/")
    bench.add_argument("--reference", action="store_true",
                       help="with --full: the reference (after --through) instead of yours")
    bench.add_argument("--users", type=int, default=8,
                       help="with --full: Locust users per load run (default 8)")
    bench.add_argument("--seconds", type=int, default=5,
                       help="with --full: seconds per load run (default 5)")

    wheels = verb("wheelhouse", cmd_wheelhouse,
                  "instructors: download the wheels for every laptop of a room into one folder")
    wheels.add_argument("--platforms", default="here",
                        help="comma-separated: linux-x86_64, linux-aarch64, macos-arm64, "
                             "macos-x86_64, wsl2, here (this machine, the default) or all")
    wheels.add_argument("--python", default=".".join(map(str, sys.version_info[:2])),
                        help="comma-separated Python versions, e.g. 3.11,3.12 (default: "
                             "this one)")
    wheels.add_argument("--out", default=None, help="folder (default: wheelhouse/ here)")
    wheels.add_argument("--check", action="store_true",
                        help="only say what each machine would get (nothing downloaded)")

    grade = verb("grade", cmd_grade,
                 "instructors: grade several learners' checkouts into one table")
    grade.add_argument("projects", nargs="+",
                       help="learners' course checkouts (or their starter_project/ folders)")
    grade.add_argument("--only", default="",
                       help="chapters and exercises, comma-separated (06,07.2); default: all")
    grade.add_argument("--chapter", dest="selector", help=argparse.SUPPRESS)  # older spelling
    grade.add_argument("--timeout", type=int, default=90,
                       help="seconds a test may take (default 90)")
    grade.add_argument("--learner-timeout", type=float, default=None,
                       help="seconds a learner may take in all (default: three times what "
                            "the exercises last took here, at least 120)")
    grade.add_argument("--jobs", type=int, default=None,
                       help="learners graded at once (default: the CPU count)")
    grade.add_argument("--out", default=None,
                       help="folder for grades.csv, report.html and the logs "
                            "(default .course/reports/room-<time>/)")
