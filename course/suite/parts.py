"""The parts of ``course test``, each run in a process of its own by the runner.

    python -m course.suite.parts <part> <summary.json>

prints what the part does and writes ``{"passed": n, "failed": n, "problems": [...]}``.
Parts share the course's services (started once by the runner) and take their own
Redis databases, test databases and ports, so two can run side by side.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course import catalog as catalog_module
from course import paths
from course.project import commands, states


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


def _run(command: list[str], **kwargs: object) -> int:
    shown = " ".join(Path(c).name if c == sys.executable else c for c in command)
    print(f"$ {shown}", flush=True)
    return subprocess.run(command, cwd=paths.ROOT, **kwargs).returncode  # type: ignore[arg-type]


def _pytest(tally: Tally, what: str, command: list[str], **kwargs: object) -> None:
    """Run pytest, show its output, and count its tests into the tally."""
    shown = " ".join(Path(c).name if c == sys.executable else c for c in command)
    print(f"$ {shown}", flush=True)
    result = subprocess.run(command, cwd=paths.ROOT, capture_output=True, text=True,
                            **kwargs)  # type: ignore[call-overload]
    print(result.stdout + result.stderr, flush=True)
    summary = (result.stdout.strip().splitlines() or [""])[-1]
    counts = {word: int(number) for number, word in
              re.findall(r"(\d+) (passed|failed|errors?)", summary)}
    failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    tally.passed += counts.get("passed", 0)
    tally.failed += failed
    if result.returncode != 0:
        tally.problems.append(f"{what}: {summary or f'pytest exited with {result.returncode}'}")
        if not failed:
            tally.failed += 1


def _final_state() -> Path:
    catalog = catalog_module.load()
    return states.reference_state(catalog, states.final_chapter(catalog))


def lint(tally: Tally) -> None:
    code = _run([sys.executable, "-m", "ruff", "check", "course", "exercises_tests",
                 "starter_project"])
    tally.add(code == 0, "lint: ruff found problems in the course")
    # The reference solution is diffs; what they build is the code `apply` writes.
    final = _final_state()
    code = _run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
                 str(paths.ROOT / "pyproject.toml"), "--extend-ignore", "B,UP", str(final)])
    tally.add(code == 0, "lint: ruff found problems in the final reference state")
    _doc_links(tally)


def _doc_links(tally: Tally) -> None:
    """Every docs link resolves in the pinned versions' docs (fetched once, then offline)."""
    from course.suite import doclinks

    print("$ python -m course.suite.doclinks", flush=True)
    broken = doclinks.run(lambda line: print(line, flush=True))
    tally.add(not broken, f"lint: {len(broken)} documentation link(s) do not resolve in the "
                          "pinned docs")
    tally.problems.extend(f"  {line}" for line in broken)


def tooling(tally: Tally) -> None:
    _pytest(tally, "tooling", [sys.executable, "-m", "pytest", "course/tests", "-q",
                               "-p", "no:cacheprovider", "--durations=10"])


def shop(tally: Tally) -> None:
    for label, target in (("starter", paths.STARTER), ("final reference", _final_state())):
        print(f"$ manage.py test shop  ({label})", flush=True)
        try:
            commands.manage("test", "shop", "-v1", "--noinput", target=target)
            tally.add(True, "")
        except subprocess.CalledProcessError:
            tally.add(False, f"shop: the project's tests failed on the {label} state")
    _shop_tests_leave_redis_alone(tally)
    _no_n_plus_one(tally)
    _full_bench(tally)


# ``course bench --full`` on small data, the reference against the starter: short load runs
# (the report's numbers are printed into the part's log, never asserted), every part present.
BENCH_SCALE = "small"
BENCH_ARGS = ("--repeat", "5", "--seconds", "3")


def _full_bench(tally: Tally) -> None:
    with tempfile.TemporaryDirectory(prefix="course-full-bench-") as tmp:
        database = str(Path(tmp) / "bench.sqlite3")
        commands.prepare_database(BENCH_SCALE, COURSE_SQLITE_PATH=database)
        env = dict(os.environ, COURSE_SQLITE_PATH=database, COURSE_DB="sqlite",
                   MPLBACKEND="Agg")
        command = [sys.executable, "-m", "course", "bench", "--full", "--reference",
                   *BENCH_ARGS]
        print(f"$ {' '.join(command[2:])}  (on {BENCH_SCALE} data)", flush=True)
        completed = subprocess.run(command, cwd=paths.ROOT, env=env, capture_output=True,
                                   text=True, check=False, timeout=1200)
        print(completed.stdout[-6000:], completed.stderr[-2000:], sep="\n", flush=True)
        found = re.search(r"The report, with every table and its charts: (\S+)",
                          completed.stdout)
        report = Path(found.group(1)) if found else None
        text = report.read_text(encoding="utf-8") if report and report.exists() else ""
        missing = [part for part in ("could not run", "| queries, ", "| req/s under load, ",
                                     "| static bytes, a first visit", "| check --deploy")
                   if (part in text) == (part == "could not run")]
        charts = sorted(path.name for path in report.parent.glob("*.png")) if report else []
        tally.add(completed.returncode == 0 and bool(text) and not missing and len(charts) == 3,
                  f"bench --full: exit {completed.returncode}, report {report}, "
                  f"missing or wrong: {missing}, charts {charts}")


def _no_n_plus_one(tally: Tally) -> None:
    """Every URL of the final reference (pages signed in and out, the API, the exports, an
    order placed, the admin's lists, forms and delete pages) runs no statement once per row;
    the starter does (so the scan can fail)."""
    from course.suite import nplus1

    for label, target, wanted in (("final reference", _final_state(), False),
                                  ("starter", paths.STARTER, True)):
        print(f"$ N+1 scan  ({label})", flush=True)
        findings = nplus1.scan(target)
        for finding in findings[:20]:
            print(f"  {finding.line()}", flush=True)
        print(f"  {len(findings)} finding(s)", flush=True)
        if wanted:
            tally.add(bool(findings), "nplus1: the scan finds nothing on the starter, so it "
                                      "cannot tell a fixed project from a slow one")
        else:
            tally.add(not findings, f"nplus1: {len(findings)} N+1 finding(s) on the final "
                                    f"reference, e.g. {findings[0].line() if findings else ''}")


def _shop_tests_leave_redis_alone(tally: Tally) -> None:
    """A learner's ``python manage.py test`` (their own settings, REDIS_URL pointing at the
    Redis their running shop uses) must neither write to that Redis nor empty it."""
    import redis

    from course import services
    from course.grading.slots import grading_slot

    with grading_slot() as slot:
        url = services.redis_url(slot.cache_db)
        client = redis.Redis.from_url(url)
        client.flushdb()
        client.set("learner:canary", "the running shop's data")
        print("$ manage.py test shop  (final reference, development settings, a live Redis)",
              flush=True)
        try:
            commands.manage("test", "shop", "-v1", "--noinput", target=_final_state(),
                            DJANGO_SETTINGS_MODULE="config.settings.dev", REDIS_URL=url)
            keys = sorted(key.decode() for key in client.keys("*"))
            tally.add(keys == ["learner:canary"],
                      f"shop: manage.py test touched the Redis at REDIS_URL (keys now: {keys})")
        except subprocess.CalledProcessError:
            tally.add(False, "shop: the project's tests failed under its development settings")
        finally:
            client.flushdb()


def _prove(tally: Tally, database: str | None, *checks: str,
           **options: dict[str, bool]) -> None:
    from course.suite import proof

    for check in checks:
        held, broken = getattr(proof, check)(database,
                                             lambda line: print(f"  {line}", flush=True),
                                             **options.get(check, {}))
        tally.passed += held
        tally.failed += len(broken)
        tally.problems.extend(line.strip() for line in broken)


def proof_sqlite(tally: Tally) -> None:
    # Every exercise graded alone on the final state stands for grading them all there at
    # once, which PostgreSQL's proof does.
    _prove(tally, None, "prove", "prove_alone", prove={"together": False})


def wrong_sqlite(tally: Tally) -> None:
    _prove(tally, None, "prove_wrong")


def proof_postgres(tally: Tally) -> None:
    _prove(tally, "postgres", "prove")


def wrong_postgres(tally: Tally) -> None:
    _prove(tally, "postgres", "prove_wrong")


# Notebooks run on the smallest data (the facts they assert hold at any scale) and with short
# load runs: timings there are printed, never asserted.
NOTEBOOK_SCALE = "tiny"
QUICK = {"COURSE_LOAD_SECONDS": "2", "COURSE_QUICK": "1"}


def notebooks(tally: Tally) -> None:
    times = run_notebooks(tally, scale=NOTEBOOK_SCALE, quick=True).seconds
    if times:
        print("Each notebook top to bottom (tiny data, short load runs): " + " · ".join(
            f"{name} {seconds:.0f} s" for name, seconds in times.items()), flush=True)


@dataclass(frozen=True)
class NotebookRun:
    seconds: dict[str, float]  # by chapter, the sum of its cells
    failing: list[str]  # chapters with a cell that failed


def run_notebooks(tally: Tally, *, scale: str, quick: bool,
                  only: list[str] | None = None) -> NotebookRun:
    """Run the notebooks (``only``: these chapters) top to bottom under nbval, on a throw-away
    database of ``scale`` and in a throw-away course home; seconds per notebook and those that
    failed, by chapter. ``quick``: the short load runs of the course's own suite."""
    found = sorted(str(p.relative_to(paths.ROOT)) for p in paths.NOTEBOOKS.glob("*.ipynb")
                   if only is None or p.name[:2] in only)
    with tempfile.TemporaryDirectory(prefix="course-notebooks-") as tmp:
        database = str(Path(tmp) / "notebooks.sqlite3")
        commands.prepare_database(scale, COURSE_SQLITE_PATH=database)
        env = {key: value for key, value in os.environ.items() if key not in QUICK}
        env.update(COURSE_SQLITE_PATH=database, COURSE_HOME=str(Path(tmp) / "home"),
                   MPLBACKEND="Agg", **(QUICK if quick else {}))
        report = Path(tmp) / "notebooks.xml"
        try:
            _pytest(tally, "notebooks", [sys.executable, "-m", "pytest", "--nbval-lax",
                                         "-p", "no:cacheprovider", "-q",
                                         "--nbval-cell-timeout=600", "--durations=15",
                                         f"--junitxml={report}", *found],
                    env=env)
            return notebook_run(report)
        finally:  # the notebooks' checks start services in this throw-away home: stop them
            subprocess.run([sys.executable, "-m", "course", "services", "down"], env=env,
                           cwd=paths.ROOT, capture_output=True, check=False)


def notebook_run(report: Path) -> NotebookRun:
    """Seconds per notebook (the sum of its cells) and the notebooks with a failed cell, by
    chapter, from pytest's JUnit XML."""
    import xml.etree.ElementTree as ElementTree

    try:
        cases = list(ElementTree.parse(report).getroot().iter("testcase"))
    except (OSError, ElementTree.ParseError):
        return NotebookRun({}, [])
    times: dict[str, float] = {}
    failing: set[str] = set()
    for case in cases:
        found = re.search(r"(\d\d)_[\w]+\.ipynb", case.get("classname", "") + case.get("file", ""))
        if found:
            chapter = found.group(1)
            times[chapter] = times.get(chapter, 0.0) + float(case.get("time", 0))
            if case.find("failure") is not None or case.find("error") is not None:
                failing.add(chapter)
    return NotebookRun(dict(sorted(times.items())), sorted(failing))


@dataclass(frozen=True)
class Part:
    name: str
    run: Callable[[Tally], None]
    about: str
    services: tuple[str, ...] = ()  # course services it needs, started once by the runner


PARTS = {part.name: part for part in (
    Part("lint", lint, "ruff over the tooling, graders, starter and the final reference; "
                       "docs links against the pinned docs"),
    Part("tooling", tooling, "unit tests of course/"),
    Part("shop", shop, "the shop's own tests on the starter and the final reference; the N+1 "
         "scan of every URL",
         ("redis",)),
    Part("proof", proof_sqlite, "every chapter's graders fail before it, pass after, and "
         "pass alone (SQLite)", ("redis", "smtp")),
    Part("wrong", wrong_sqlite, "every course-owned wrong solution rejected for its reason "
         "(SQLite)", ("redis", "smtp")),
    Part("postgres", proof_postgres, "every chapter's graders fail before it and pass after "
         "it (PostgreSQL)", ("redis", "smtp", "postgres")),
    Part("postgres-wrong", wrong_postgres, "every course-owned wrong solution rejected for its "
         "reason (PostgreSQL: the database-bound chapters)", ("redis", "smtp", "postgres")),
    Part("notebooks", notebooks, "every notebook top to bottom under nbval"),
)}


def main(argv: list[str]) -> int:
    """``python -m course.suite.parts PART SUMMARY.json``: run one part (what ``course test``
    does for each), write its tally to SUMMARY.json."""
    if len(argv) != 2 or argv[0] not in PARTS:
        print(f"usage: python -m course.suite.parts PART SUMMARY.json  (parts: "
              f"{', '.join(PARTS)})", file=sys.stderr)
        return 2
    name, summary = argv
    tally = Tally()
    PARTS[name].run(tally)
    Path(summary).write_text(json.dumps(asdict(tally)))
    return 0 if tally.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
