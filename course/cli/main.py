"""The ``python3 -m course`` command line: one verb per learner or instructor task.

Argument parsing is standard library only, so ``--help`` works before
``.venv`` exists; each verb then makes sure it runs inside ``.venv``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from course import paths

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CourseError(Exception):
    """An expected problem; printed as one line, exit code 2."""


def _catalog():
    from course import catalog

    return catalog.load()


def _target(reference: bool, through: str | None = None) -> tuple[Path, str]:
    if not reference:
        return paths.STARTER, "starter"
    from course.project import states

    catalog = _catalog()
    return states.reference_state(catalog, through or states.final_chapter(catalog)), "reference"


def _colour() -> bool:
    return sys.stdout.isatty() and os.environ.get("NO_COLOR") is None


# --- verbs -----------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    from course.grading import grader, progress, report

    catalog = _catalog()
    exercises = catalog.select(args.selector)
    target, label = _target(args.reference)
    shown = "the reference solution" if args.reference else "starter_project/"
    print(f"Checking {len(exercises)} exercise(s) against {shown} ({args.db or 'sqlite'}) …",
          flush=True)
    started = time.monotonic()
    verdicts = grader.grade(
        exercises, catalog, target=target, time_limit=args.timeout, database=args.db
    )
    progress.record_verdicts(verdicts, label)
    print(report.text_table(verdicts, colour=_colour()))
    if not args.reference:
        from course.project import layout

        for item in layout.leftovers():
            note = layout.notice(item, {exercise.id for exercise in exercises})
            if note:
                print(f"Note: {note}")
    print(f"({time.monotonic() - started:.1f} s)")
    return EXIT_OK if all(v.passed for v in verdicts) else EXIT_FAILED


def cmd_hint(args: argparse.Namespace) -> int:
    from course.grading import progress

    exercise = _catalog().exercise(args.exercise)
    if not exercise.hints:
        raise CourseError(f"exercise {exercise.id} has no hints")
    index = progress.next_hint_index(exercise.id, len(exercise.hints))
    print(f"{exercise.id} {exercise.title} — hint {index + 1} of {len(exercise.hints)}\n")
    print(exercise.hints[index])
    if index + 1 < len(exercise.hints):
        print(f"\n(run `python3 -m course hint {exercise.id}` again for the next hint)")
    return EXIT_OK


def cmd_solution(args: argparse.Namespace) -> int:
    from course.grading import progress
    from course.project import solutions

    exercise = _catalog().exercise(args.exercise)
    if exercise.id not in progress.load().passed and not args.yes:
        print(
            f"{exercise.id} has not passed a check yet (`python3 -m course check {exercise.id}`)."
        )
        if not sys.stdin.isatty() or input("Show the solution anyway? [y/N] ").lower() != "y":
            print("Not shown. Use --yes to skip this question.")
            return EXIT_OK
    print(solutions.diff(_catalog(), exercise, colour=_colour()))
    return EXIT_OK


def cmd_apply(args: argparse.Namespace) -> int:
    from course.project import workspace

    change = workspace.apply_chapter(_catalog(), args.chapter, force=args.force)
    print(change.describe())
    return EXIT_OK


def cmd_reset(args: argparse.Namespace) -> int:
    from course.grading import progress
    from course.project import workspace

    catalog = _catalog()
    if "all" in args.selectors:
        exercises = list(catalog.exercises)
    else:
        exercises = []
        for selector in args.selectors:
            exercises.extend(e for e in catalog.select(selector) if e not in exercises)
    if "all" in args.selectors and not args.yes:
        answer = input("Reset every exercise file to the starter as shipped? [y/N] ") \
            if sys.stdin.isatty() else ""
        if answer.lower() != "y":
            print("Nothing changed. Use --yes to skip this question.")
            return EXIT_OK
    change = workspace.reset_exercises(catalog, exercises, force=args.force,
                                       whole_files=args.whole_file,
                                       checked=progress.checked_exercises())
    print(change.describe())
    return EXIT_FAILED if change.kept else EXIT_OK


def cmd_progress(args: argparse.Namespace) -> int:
    from course.grading import progress

    catalog = _catalog()
    done = progress.load().passed
    latest = progress.latest_measurements(progress.ledger_entries())
    total_done = 0
    print("Django Under Load — progress\n")
    for chapter in catalog.chapters:
        count = len(chapter.exercises)
        passed = sum(ex.id in done for ex in chapter.exercises)
        total_done += passed
        if count:
            bar = "█" * round(20 * passed / count) + "░" * (20 - round(20 * passed / count))
            detail = f"{bar} {passed}/{count}  " + " ".join(
                f"{ex.id}{'✓' if ex.id in done else '·'}" for ex in chapter.exercises
            )
        else:
            detail = "(guided tour, no graded exercises)"
        print(f"  {chapter.number} {chapter.title:<28} {detail}")
        for ex in chapter.exercises:
            yours = latest.get((ex.id, "starter"))
            if yours or (ex.id, "reference") in latest:
                print(f"       {ex.id} yours: {progress.measured_summary(yours)}")
                reference = latest.get((ex.id, "reference"))
                if reference:
                    print(f"            reference: {progress.measured_summary(reference)}")
    print(f"\n{total_done}/{len(catalog.exercises)} exercises passed. "
          f"Progress file: {paths.PROGRESS_FILE}")
    return EXIT_OK


def cmd_services(args: argparse.Namespace) -> int:
    from course import services

    names = list(args.names or ())
    if args.action in ("restart", "logs") and len(names) > 1:
        raise CourseError(f"`services {args.action}` takes one service at a time")
    if args.scale is not None and (args.action != "up" or len(names) != 1 or args.scale < 1):
        raise CourseError("--scale N goes with `services up NAME` (one service, N >= 1)")
    if args.action == "up":
        services.up(names, scale=args.scale, postgres=True if args.postgres else None)
        status = services.status()
    elif args.action == "restart":
        status = services.restart(names[0] if names else services.WORKER)
    elif args.action == "logs":
        name = names[0] if names else services.WORKER
        print(services.log_tail(name, 40) or f"no log for {name} yet")
        return EXIT_OK
    elif args.action == "down":
        services.down(names)
        status = services.status()
    elif args.action == "list":
        from course.services import registry

        for service in registry.all_services().values():
            extra = " (scales: --scale N)" if service.scalable else ""
            print(f"  {service.name:<10} {service.summary}{extra}")
        return EXIT_OK
    else:
        status = services.status()
    print(services.format_status(status))
    return EXIT_OK


def cmd_mail(args: argparse.Namespace) -> int:
    from course.services import mailserver

    if args.normal:
        mailserver.reset_behaviour()
    if args.delay is not None or args.refuse is not None or args.hold is not None:
        mailserver.set_behaviour(delay_seconds=args.delay, refuse_next=args.refuse,
                                  hold_seconds=args.hold)
    if args.clear:
        mailserver.clear()
    behaviour = mailserver.read_behaviour()
    print("mail server: " + (", ".join(f"{k} {v:g}" for k, v in behaviour.items() if v)
                             or "answers at once, accepts everything"))
    found = mailserver.messages()
    repeats = mailserver.repeats(found)
    distinct = f", {len(found) - sum(repeats)} distinct" if any(repeats) else ""
    print(f"{len(found)} message(s){distinct} in {mailserver.mail_dir()}"
          + (":" if found else ""))
    for message, repeat in list(zip(found, repeats, strict=True))[-args.last:]:
        print(f"  {message['Date']}  to {message['To']}  {message['Subject']}  "
              f"{message['Message-ID']}" + ("  (again: a mailbox shows it once)" if repeat else ""))
    return EXIT_OK


def cmd_lab(args: argparse.Namespace) -> int:
    from course.setup import lab

    return lab.run(no_browser=args.no_browser, scale=args.scale, port=args.port)


def cmd_test(args: argparse.Namespace) -> int:
    from course.suite import runner

    return runner.run(skip=set(args.skip or ()), only=set(args.only or ()))


def cmd_bench(args: argparse.Namespace) -> int:
    from course.measuring import bench, measure
    from course.project import commands

    db = args.db or commands.learner_db()
    source = "the course's PostgreSQL database" if db == "postgres" else commands.learner_sqlite()
    print(f"Measuring starter_project/ and the reference after chapter "
          f"{args.through or 'the last'} on a copy of {source} …", flush=True)
    rows = bench.compare_states(reference_through=args.through, repeat=args.repeat,
                                pages=args.page, db=db)
    print(measure.table(rows))
    print("(before = your starter_project/, after = the reference; speedup = ratio of medians)")
    return EXIT_OK


def cmd_grade(args: argparse.Namespace) -> int:
    from course.grading import grader

    catalog = _catalog()
    exercises = catalog.select(args.selector)
    marks = {grader.PASSED: "✓", grader.NOT_ATTEMPTED: "·", grader.FAILED: "✗",
             grader.TIMED_OUT: "⌛", grader.ERROR: "!"}
    print("learner".ljust(30) + " ".join(ex.id.ljust(5) for ex in exercises) + " passed")
    for folder in args.projects:
        root = Path(folder).resolve()
        target = root / "starter_project" if (root / "starter_project").is_dir() else root
        if not (target / "manage.py").exists():
            print(f"{folder:<30}not a course checkout or starter_project/ (no manage.py)")
            continue
        verdicts = grader.grade(exercises, catalog, target=target, time_limit=args.timeout)
        row = " ".join(marks[v.status].ljust(5) for v in verdicts)
        print(f"{str(folder)[:29]:<30}{row} {sum(v.passed for v in verdicts)}/{len(verdicts)}",
              flush=True)
    print("\n✓ passed  ✗ failed  · not attempted  ⌛ timed out  ! broken file")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from course.setup import doctor

    return doctor.run()


# --- parser ------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m course",
        description="Django Under Load: make a Django shop fast and solid, one measured step "
        "at a time.",
        epilog="Start with `python3 -m course lab`. Each verb has --help.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>")

    def verb(name: str, handler: Callable[[argparse.Namespace], int], text: str):
        sub = verbs.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler)
        return sub

    lab = verb("lab", cmd_lab, "set everything up and open JupyterLab on the first notebook")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.add_argument("--scale", default="medium", choices=["tiny", "small", "medium", "large"],
                     help="size of the shop's data on first start (default: medium)")
    lab.add_argument("--port", type=int, default=8888, help="JupyterLab port (default 8888)")

    test = verb("test", cmd_test, "run the course's whole test suite (what CI runs)")
    parts = ["lint", "tooling", "shop", "proof", "postgres", "notebooks"]
    test.add_argument("--skip", action="append", choices=parts, help="skip a part (repeatable)")
    test.add_argument("--only", action="append", choices=parts, help="run only these parts")

    check = verb("check", cmd_check, "grade exercises: all, a chapter (01) or one (01.2)")
    check.add_argument("selector", nargs="?", help="chapter NN or exercise NN.M (default: all)")
    check.add_argument("--reference", action="store_true",
                       help="grade the reference solution instead of your starter_project/")
    check.add_argument("--db", choices=["sqlite", "postgres"], default=None,
                       help="database to grade on (default sqlite)")
    check.add_argument("--timeout", type=int, default=90, help="seconds per test (default 90)")

    hint = verb("hint", cmd_hint, "show the next hint for an exercise")
    hint.add_argument("exercise", help="exercise id, e.g. 01.2")

    solution = verb("solution", cmd_solution, "show the reference solution of an exercise as a diff")
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

    verb("progress", cmd_progress, "show your progress, chapter by chapter")

    services = verb("services", cmd_services,
                    "start, stop or inspect the course's servers (Redis, SMTP, PostgreSQL, the "
                    "Celery worker, app servers …)")
    services.add_argument("action", choices=["up", "down", "status", "restart", "logs", "list"])
    services.add_argument("names", nargs="*", metavar="name",
                          help="up/down: these services too (remembered until `down NAME`); "
                          "restart/logs: which one (default: worker); `list` names them all")
    services.add_argument("--scale", type=int, metavar="N",
                          help="up NAME: run N instances of it (app servers)")
    services.add_argument("--postgres", action="store_true",
                          help="also start PostgreSQL (same as `up postgres`)")

    mail = verb("mail", cmd_mail, "read the course's mailbox; make its mail server slow or "
                "refuse mail for a while")
    mail.add_argument("--delay", type=float, metavar="S", help="wait S seconds before accepting")
    mail.add_argument("--refuse", type=int, metavar="N", help="refuse the next N messages (451)")
    mail.add_argument("--hold", type=float, metavar="S",
                      help="accept, then keep the sender waiting S seconds for the answer")
    mail.add_argument("--normal", action="store_true", help="answer at once and accept again")
    mail.add_argument("--clear", action="store_true", help="empty the mailbox")
    mail.add_argument("--last", type=int, default=5, help="messages to list (default 5)")

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

    verb("doctor", cmd_doctor, "check this machine and say exactly what to fix")
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [CourseError]
    for module, name in [
        ("course.catalog", "CatalogError"),
        ("course.project.workspace", "WorkspaceError"),
        ("course.services", "ServiceError"),
        ("course.setup.bootstrap", "BootstrapError"),
        ("course.measuring.bench", "BenchError"),
    ]:
        try:
            errors.append(getattr(__import__(module, fromlist=[name]), name))
        except Exception:  # a module that cannot import yet has no errors to catch
            continue
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        from course.setup import bootstrap

        bootstrap.reexec_in_venv(argv)
        from course.project import states

        states.base_commit()  # remember the starter as shipped before any learner commit
        return args.handler(args)
    except KeyboardInterrupt:
        print("\ncourse: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except _expected_errors() as error:
        print(f"course: {error}", file=sys.stderr)
        return EXIT_USAGE
    except FileNotFoundError as error:
        if not paths.venv_python().exists():
            print("course: .venv disappeared while running; run `python3 -m course lab` to "
                  "recreate it", file=sys.stderr)
            return EXIT_USAGE
        return _unexpected(error)
    except Exception as error:  # noqa: BLE001 - last line of defence: one line, details in a log
        return _unexpected(error)


def _unexpected(error: BaseException) -> int:
    log = paths.LOGS / "course-error.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(traceback.format_exc())
    print(f"course: unexpected error: {type(error).__name__}: {error} (details: {log})",
          file=sys.stderr)
    return EXIT_USAGE
