"""``python3 -m course``: the parser and the one place errors become one line for a person.

Argument parsing is standard library only, so ``--help`` works before
``.venv`` exists; each verb then runs inside ``.venv`` (``setup.bootstrap``).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable

from course import paths
from course.cli import instructor, learner, machine
from course.cli.common import EXIT_OK, EXIT_USAGE, CourseError


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

    machine.register(verb)
    learner.register(verb)
    instructor.register(verb)
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [CourseError]
    for module, name in [
        ("course.catalog", "CatalogError"),
        ("course.project.workspace", "WorkspaceError"),
        ("course.project.patches", "PatchError"),
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

        if args.verb == "doctor" and not bootstrap.venv_is_current():
            # Before the room: say what this laptop lacks before trying to install anything.
            from course.setup import doctor

            return doctor.run(installed=False)
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
