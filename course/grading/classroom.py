"""The GitHub Classroom workflow: every learner's pushed repository graded on GitHub's
machines, one autograding step per exercise, for a class too big for one instructor's laptop.

    python -m course.grading.classroom           # write .github/workflows/classroom.yml
    python -m course.grading.classroom --check   # exit 1 if it does not match the catalog

Written from the catalog, in the form Classroom's autograding reads: a
``classroom-resources/autograding-command-grader`` step per exercise (its command is
``python3 -m course check NN.M``, which exits 0 only when the exercise passes), then the
reporter, which collects every step's result. The first step's ``setup-command`` bootstraps
the course and starts its services; they keep running for the steps after it.
"""

from __future__ import annotations

import argparse

from course import catalog as catalog_module
from course import paths
from course.generated import write_or_check

WORKFLOW = paths.ROOT / ".github" / "workflows" / "classroom.yml"
PYTHON = "3.12"
SETUP = "python3 -m course services up"
STEP_MINUTES = 10


def step_id(exercise_id: str) -> str:
    return "exercise-" + exercise_id.replace(".", "-")


def command(exercise_id: str) -> str:
    return f"python3 -m course check {exercise_id}"


def workflow(catalog: catalog_module.Catalog) -> str:
    """The workflow's YAML, written by hand so it stays readable and stable."""
    lines = [
        "# Written by `python -m course.grading.classroom` from exercises_tests/catalog.toml:",
        "# do not edit. GitHub Classroom's autograding: one step per exercise, each",
        "# `python3 -m course check NN.M`, and the reporter that gives the class its table.",
        "name: Autograding",
        "on:",
        "  - push",
        "  - repository_dispatch",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  autograding:",
        "    runs-on: ubuntu-latest",
        "    timeout-minutes: 120",
        "    # Not for Classroom's own commit of the starter, nor for the template repository.",
        "    if: github.actor != 'github-classroom[bot]' && "
        "!github.event.repository.is_template",
        "    steps:",
        "      - uses: actions/checkout@v5",
        "      - uses: actions/setup-python@v6",
        "        with:",
        f"          python-version: '{PYTHON}'",
        "          cache: pip",
        "          cache-dependency-path: requirements.txt",
    ]
    ids = []
    for number, exercise in enumerate(catalog.exercises):
        ident = step_id(exercise.id)
        ids.append(ident)
        title = exercise.title.replace('"', "'")
        lines += [
            f"      - name: \"{exercise.id} {title}\"",
            f"        id: {ident}",
            "        uses: classroom-resources/autograding-command-grader@v1",
            "        with:",
            f"          test-name: \"{exercise.id} {title}\"",
            f"          setup-command: \"{SETUP if number == 0 else ''}\"",
            f"          command: \"{command(exercise.id)}\"",
            f"          timeout: {STEP_MINUTES}",
            "          max-score: 1",
        ]
    lines += [
        "      - name: Autograding reporter",
        "        if: always()",
        "        uses: classroom-resources/autograding-grading-reporter@v1",
        "        env:",
        *(f"          {ident.upper()}_RESULTS: \"${{{{ steps.{ident}.outputs.result }}}}\""
          for ident in ids),
        "        with:",
        f"          runners: {','.join(ids)}",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    wanted = workflow(catalog_module.load())
    return write_or_check(WORKFLOW, wanted, check=args.check,
                          command="python -m course.grading.classroom")


if __name__ == "__main__":
    raise SystemExit(main())
