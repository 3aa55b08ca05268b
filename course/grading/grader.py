"""Grade exercises: run their pytest checks against a project state and explain the result.

The checks run in a pytest subprocess (several side by side for a chapter that
says its graders mostly wait), each with its own Redis databases, with a
per-test time limit enforced from outside the test process (``watchdog``): a
learner's infinite loop becomes "timed out after N s", with where it was stuck,
for that exercise, and grading goes on, whatever the learner's code catches. A
syntax error is one line naming the file and line, for every exercise whose
code loads that file; the other exercises are still graded.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course import paths, statefiles
from course.catalog import Catalog, Exercise
from course.grading.slots import Slot, grading_slot
from course.project import markers, states

PASSED = "passed"
FAILED = "failed"
NOT_ATTEMPTED = "not attempted"
TIMED_OUT = "timed out"
ERROR = "error"

DEFAULT_TIME_LIMIT = 90  # seconds per test
SYNTAX_ERRORS = re.compile(r"\b(SyntaxError|IndentationError|TabError)\b")


@dataclass
class Verdict:
    exercise: Exercise
    status: str
    message: str = ""
    measured: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def measured_text(self) -> str:
        parts = []
        for item in self.measured:
            unit = f" {item['unit']}" if item.get("unit") else ""
            text = f"{item['value']}{unit}"
            if item.get("target") not in (None, ""):
                text += f" (target {item['target']})"
            parts.append(text)
        return "; ".join(parts)


def syntax_problem(path: Path, shown_as: str) -> str | None:
    """One line describing a syntax error in ``path``, or None."""
    if path.suffix != ".py" or not path.exists():
        return None
    try:
        compile(path.read_bytes(), str(path), "exec")
    except SyntaxError as error:
        return f"SyntaxError in {shown_as} line {error.lineno}: {error.msg}"
    return None


def project_syntax_problems(target: Path) -> list[str]:
    """Syntax errors anywhere in the project (what would stop Django from loading)."""
    problems = []
    for path in sorted(target.rglob("*.py")):
        if states.IGNORED_PARTS.intersection(path.parts):
            continue
        problem = syntax_problem(path, _shown(target, path.relative_to(target).as_posix()))
        if problem:
            problems.append(problem)
    return problems


def _shown(target: Path, relative: str) -> str:
    if target.resolve() == paths.STARTER.resolve():
        return f"starter_project/{relative}"
    return relative


def is_untouched(exercise: Exercise, target: Path, catalog: Catalog) -> bool:
    """True when the exercise has not been started, judged by its own code only, so a
    learner who solved earlier chapters their own way is not told they failed it.

    In a file with a ``TODO(NN.M)`` marker for it: the marker is still there, word for word
    (the report asks learners to delete it when they start). In a file without one: the
    file is as shipped or as before its chapter; one that other exercises share says
    nothing either way.
    """
    versions = [states.reference_state(catalog, "00"),
                states.state_before_chapter(catalog, exercise.chapter_number)]
    shared = {rel for other in catalog.exercises if other.id != exercise.id
              for rel in other.files}
    for rel in exercise.files:
        current = states.file_in_state(target, rel)
        known = [v for v in (states.file_in_state(version, rel) for version in versions)
                 if v is not None]
        if current in known:
            continue
        if current is None:
            return False
        text = current.decode("utf-8", "replace")
        shipped = [v.decode("utf-8", "replace") for v in known]
        if any(markers.blocks(v).get(exercise.id) for v in shipped):
            if any(markers.intact(exercise.id, v, text) for v in shipped):
                continue
            return False
        if rel not in shared:
            return False
    return True


def pytest_command(node_ids: list[str], time_limit: int) -> list[str]:
    return [
        sys.executable, "-m", "pytest",
        "-c", str(paths.EXERCISES_TESTS / "pytest.ini"),
        "--rootdir", str(paths.EXERCISES_TESTS),
        # Plug-ins are named, not discovered (PYTEST_DISABLE_PLUGIN_AUTOLOAD in the
        # environment): locust's and nbval's alone cost every check half a second and more.
        "-p", "pytest_django.plugin", "-p", "pytest_timeout",
        "-p", "no:cacheprovider",
        "-q", "--no-header", "-rN", "--tb=short",
        f"--timeout={time_limit}",
        *node_ids,
    ]


def grading_env_file(folder: Path, slot: Slot) -> Path:
    """The learner's ``.course/env`` with the graders' own Celery broker and result store, and
    their own buckets in the object store (none, if it was started once and is not running).
    The error tracker's DSN and the read replica's address are kept under names of the
    graders' (``GRADING_SENTRY_DSN``, ``GRADING_REPLICA_URL``): the project uses them only
    when a grader passes them (10.7, 11.4), so no other grader's numbers depend on whether
    they were ever started."""
    from course import envfile, services

    path = folder / "grading.env"
    values: dict[str, str | None] = dict(envfile.read())
    broker = services.redis_url(slot.broker_db)
    if broker:
        values.update(CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND=broker)
    from course.services.plugins import objectstore

    if values.get("AWS_S3_ENDPOINT_URL") and not objectstore.answers(values["AWS_S3_ENDPOINT_URL"]):
        # Started once, not running now: graded as a project without one (files on disk), not
        # as one whose every upload and report fails.
        values.update(dict.fromkeys(objectstore.PUBLISHED))
    elif values.get("AWS_STORAGE_BUCKET_NAME"):  # uploads and reports: the graders' buckets
        values["AWS_STORAGE_BUCKET_NAME"] = objectstore.GRADING_BUCKET
        values["SHOP_REPORTS_BUCKET"] = objectstore.GRADING_REPORTS_BUCKET
    values["GRADING_SENTRY_DSN"] = values.pop("SENTRY_DSN", None)
    # The replica's address names the learner's database, not a grader's test database: a
    # project configured with it would read the learner's rows. 11.4's grader passes its
    # servers the replica of its own test database.
    values["GRADING_REPLICA_URL"] = values.pop("DATABASE_REPLICA_URL", None)
    # Page views go to no collector (the shop sends none): 14.5's grader starts one of its own,
    # and no other grader's time may depend on how slow the learner's is.
    values["ANALYTICS_URL"] = ""
    envfile.update(values, path)
    return path


def grading_env(target: Path, results: Path, database: str | None, slot: Slot) -> dict[str, str]:
    env = dict(os.environ)
    from course import services

    redis_url = services.redis_url(slot.cache_db)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env["COURSE_ENV_FILE"] = str(grading_env_file(results.parent, slot))
    # Celery reads these two from the process environment over any setting: graders pass them
    # through the env file only, so a project whose settings ignore them cannot pass.
    env.pop("CELERY_BROKER_URL", None)
    env.pop("CELERY_RESULT_BACKEND", None)
    env.pop("SENTRY_DSN", None)  # see grading_env_file
    env.pop("DATABASE_REPLICA_URL", None)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["COURSE_TARGET_DIR"] = str(target)
    env["COURSE_RESULTS"] = str(results)
    env["PYTHONPATH"] = paths.pythonpath(*filter(None, [str(paths.ROOT),
                                                        os.environ.get("PYTHONPATH")]))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if database:
        env["COURSE_DB"] = database
    return env


def run_tests(
    node_ids: list[str], target: Path, *, time_limit: int, database: str | None,
    longer: dict[str, int] | None = None,
) -> tuple[dict[str, dict[str, Any]], str]:
    """Run pytest on node ids in a process of its own; return per-node results and its output.

    ``longer`` gives the tests that may take more than ``time_limit`` their own limit.
    The services must be up (:func:`grade` starts them).
    """
    from course.grading import watchdog

    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp, grading_slot() as slot:
        results = Path(tmp) / "results.json"
        data, output = watchdog.run_watched(
            lambda ids: pytest_command(ids, time_limit), node_ids,
            env=grading_env(target, results, database, slot), cwd=paths.EXERCISES_TESTS,
            results=results, time_limit=time_limit, target=str(target), longer=longer)
    return data, output


def limit_for(exercise: Exercise, time_limit: int) -> int:
    """Seconds each of ``exercise``'s tests may take when a check allows ``time_limit``."""
    return max(time_limit, exercise.time_limit)


def _durations_file() -> Path:
    return paths.STATE / "cache" / "grading-durations.json"


def _known_durations() -> dict[str, float]:
    return statefiles.read_numbers(_durations_file())


def _remember_durations(verdicts: list[Verdict]) -> None:
    statefiles.update_numbers(_durations_file(), {
        v.exercise.id: round(v.duration, 2) for v in verdicts if v.duration})


def plan_groups(exercises: list[Exercise], catalog: Catalog,
                processes: int | None = None) -> list[list[Exercise]]:
    """Exercises split into groups graded side by side, each in a pytest process of its own.

    Only chapters whose graders mostly wait (on workers, servers, time-outs) say so in the
    catalog (``graders_in_parallel``); their exercises are spread over that many groups,
    longest first by their last duration. Everything else stays in one group.
    """
    limit = processes or int(os.environ.get("COURSE_GRADING_PROCESSES", 0)) or \
        (os.cpu_count() or 1)
    wide = {c.number: c.graders_in_parallel for c in catalog.chapters}
    spread = [e for e in exercises if wide.get(e.chapter_number, 1) > 1]
    count = min(limit, len(spread), max([wide[e.chapter_number] for e in spread], default=1))
    if count < 2:
        return [list(exercises)]
    known = _known_durations()
    groups: list[list[Exercise]] = [[] for _ in range(count)]
    loads = [0.0] * count
    for exercise in sorted(spread, key=lambda e: -known.get(e.id, 5.0)):
        lightest = loads.index(min(loads))
        groups[lightest].append(exercise)
        loads[lightest] += known.get(exercise.id, 5.0)
    groups[loads.index(min(loads))].extend(e for e in exercises if e not in spread)
    return [group for group in groups if group]


def _last_error_line(output: str) -> str:
    for line in reversed(output.strip().splitlines()):
        line = line.strip()
        if line.startswith("E ") or "Error" in line:
            return line.removeprefix("E").strip()
    return output.strip().splitlines()[-1] if output.strip() else "no output"


def _verdict_for(
    exercise: Exercise, data: dict[str, dict[str, Any]], output: str, time_limit: int
) -> Verdict:
    from course.grading.watchdog import result_for

    entries = [result_for(test, data) for test in exercise.tests]
    measured = [m for e in entries if e for m in e.get("measured", [])]
    duration = sum(e.get("duration", 0.0) for e in entries if e)
    if any(e is None for e in entries):
        collect_errors = [v["message"] for k, v in data.items() if k.startswith("collect::")]
        message = collect_errors[0] if collect_errors else _last_error_line(output)
        return Verdict(exercise, ERROR, message, measured, duration)
    for entry in entries:
        if entry["outcome"] == "timeout":
            return Verdict(exercise, TIMED_OUT, entry.get("message") or
                           f"timed out after {time_limit} s", measured, duration)
    failures = [e for e in entries if e["outcome"] != "passed"]
    if failures:
        return Verdict(exercise, FAILED, failures[0]["message"], measured, duration)
    return Verdict(exercise, PASSED, "", measured, duration)


def grade(
    exercises: list[Exercise],
    catalog: Catalog,
    *,
    target: Path = paths.STARTER,
    time_limit: int = DEFAULT_TIME_LIMIT,
    database: str | None = None,
    processes: int | None = None,
) -> list[Verdict]:
    """Grade exercises against ``target``; one verdict per exercise, in order.

    ``processes`` caps how many pytest processes run side by side (default: the CPUs,
    or ``COURSE_GRADING_PROCESSES``); see :func:`plan_groups`.
    """
    verdicts: dict[str, Verdict] = {}
    runnable: list[Exercise] = []
    for exercise in exercises:
        problem = next(
            filter(None, (syntax_problem(target / f, _shown(target, f)) for f in exercise.files)),
            None,
        )
        if problem:
            verdicts[exercise.id] = Verdict(exercise, ERROR, problem)
        else:
            runnable.append(exercise)
    if runnable:
        from course import services

        # An exercise that exists on one database only is graded there, in a group of its own.
        on: dict[str | None, list[Exercise]] = {}
        for exercise in runnable:
            on.setdefault(exercise.graded_on(database), []).append(exercise)
        services.up([*catalog.services_for(runnable),
                     *(["postgres"] if "postgres" in on else [])], quiet=True)
        groups = [(db, group) for db, exercises_on in on.items()
                  for group in plan_groups(exercises_on, catalog, processes)]

        def grade_group(planned: tuple[str | None, list[Exercise]]) -> list[Verdict]:
            db, group = planned
            started = time.monotonic()
            node_ids = [test for exercise in group for test in exercise.tests]
            longer = {test: limit_for(exercise, time_limit) for exercise in group
                      for test in exercise.tests if limit_for(exercise, time_limit) > time_limit}
            data, output = run_tests(node_ids, target, time_limit=time_limit, database=db,
                                     longer=longer)
            elapsed = time.monotonic() - started
            found = [_verdict_for(exercise, data, output, limit_for(exercise, time_limit))
                     for exercise in group]
            for verdict in found:
                if not verdict.duration:
                    verdict.duration = elapsed / len(group)
            return found

        if len(groups) == 1:
            graded = grade_group(groups[0])
        else:
            with ThreadPoolExecutor(len(groups)) as pool:
                graded = [v for found in pool.map(grade_group, groups) for v in found]
        problems: list[str] | None = None
        for verdict in graded:
            if verdict.status == ERROR or (
                    verdict.status == FAILED and SYNTAX_ERRORS.search(verdict.message)):
                # The project did not load: a syntax error anywhere is the likely cause. Say
                # that, in one line, rather than a traceback and a hint about something else.
                if problems is None:
                    problems = project_syntax_problems(target)
                if problems:
                    verdict.status = ERROR
                    verdict.message = (f"{problems[0]} (the project cannot load until it "
                                       "is fixed)")
            verdicts[verdict.exercise.id] = verdict
        _remember_durations(graded)
    for verdict in verdicts.values():
        # An exercise whose code is still the starter's has not been tried, whether its test
        # failed or ran out of time on a busy machine: neither says anything of the learner.
        if verdict.status in (FAILED, TIMED_OUT) and is_untouched(verdict.exercise, target,
                                                                   catalog):
            verdict.status = NOT_ATTEMPTED
    return [verdicts[exercise.id] for exercise in exercises]
