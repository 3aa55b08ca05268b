"""Run the suite's parts side by side within the machine's cores, and report wall time per part.

Parts start longest first (by their wall time in the previous run), as many at
a time as there are CPUs (``--jobs`` to change it). Each part's output goes to
``.course/logs/suite/<part>.log``; a failed part's problems and the end of its
log are printed, and a table of wall time per part ends the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from course import paths, statefiles
from course.suite.parts import PARTS

# Seconds each part took on two cores (a fresh clone has no timings of its own): longest first.
DEFAULT_SECONDS = {"wrong": 1510, "notebooks": 1030, "proof": 845, "postgres": 635,
                   "postgres-wrong": 355, "tooling": 250, "lint": 30, "shop": 40}


@dataclass
class Running:
    name: str
    process: subprocess.Popen
    log: Path
    summary: Path
    started: float


@dataclass
class Result:
    name: str
    seconds: float
    passed: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)
    log: Path | None = None

    @property
    def ok(self) -> bool:
        return self.failed == 0


def _logs() -> Path:
    folder = paths.STATE / "logs" / "suite"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _timings_file() -> Path:
    return paths.STATE / "cache" / "suite-seconds.json"


def _previous_seconds() -> dict[str, float]:
    return statefiles.read_numbers(_timings_file())


def _save_seconds(results: list[Result]) -> None:
    statefiles.update_numbers(_timings_file(), {r.name: round(r.seconds, 1) for r in results})


def _start(name: str) -> Running:
    log = _logs() / f"{name}.log"
    summary = _logs() / f"{name}.json"
    summary.unlink(missing_ok=True)
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "course.suite.parts", name,
                                    str(summary)], cwd=paths.ROOT, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    return Running(name, process, log, summary, time.monotonic())


def _finish(running: Running) -> Result:
    seconds = time.monotonic() - running.started
    data = statefiles.read_json(running.summary, None)
    if not isinstance(data, dict):
        data = {"passed": 0, "failed": 1,
                "problems": [f"{running.name}: stopped with exit code "
                             f"{running.process.returncode} before it reported"]}
    return Result(running.name, seconds, data["passed"], data["failed"], data["problems"],
                  running.log)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class _Screen:
    """What is running, done and waiting: a live panel on a terminal, plain lines in CI."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(highlight=False, soft_wrap=True)
        self.live = None
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(console=self.console, refresh_per_second=4, transient=True)
            self.live.start()

    def update(self, running: list[Running], waiting: list[str]) -> None:
        if self.live is None:
            return
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        now = time.monotonic()
        for item in running:
            table.add_row("[yellow]running[/]", item.name, f"{now - item.started:4.0f} s")
        for name in waiting:
            table.add_row("[dim]waiting[/]", name, "")
        self.live.update(table)

    def line(self, text: str) -> None:
        self.console.print(text, markup=False)

    def done(self, result: Result) -> None:
        mark = "ok  " if result.ok else "FAIL"
        self.console.print(f"  {mark} {result.name:<10} {result.seconds:5.0f} s  "
                           f"{result.passed} passed, {result.failed} failed", markup=False)
        if not result.ok:
            for problem in result.problems[:20]:
                self.console.print(f"       {problem}", markup=False)
            self.console.print(f"       last lines of {result.log}:", markup=False)
            for line in _tail(result.log or Path("/nonexistent")).splitlines():
                self.console.print(f"       | {line}", markup=False)

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()


def _table(results: list[Result], wall: float, install: float | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="course test: wall time per part", title_justify="left")
    table.add_column("part")
    table.add_column("result")
    table.add_column("checks", justify="right")
    table.add_column("wall s", justify="right")
    for result in results:
        table.add_row(result.name, "ok" if result.ok else "FAILED",
                      f"{result.passed}/{result.passed + result.failed}", f"{result.seconds:.0f}")
    table.add_section()
    table.add_row("total (parts side by side)", "ok" if all(r.ok for r in results) else "FAILED",
                  f"{sum(r.passed for r in results)}/"
                  f"{sum(r.passed + r.failed for r in results)}", f"{wall:.0f}")
    if install is not None:
        table.add_row("  + installing .venv first", "", "", f"{install:.0f}")
        table.add_row("  = total", "", "", f"{wall + install:.0f}")
    Console(highlight=False).print(table)


def run(*, skip: set[str], only: set[str], jobs: int | None = None) -> int:
    from course import catalog, services
    from course.project import states

    started = time.monotonic()
    chosen = [name for name in PARTS if name not in skip and (not only or name in only)]
    jobs = max(1, jobs or os.cpu_count() or 1)
    previous = _previous_seconds()
    order = sorted(chosen, key=lambda n: -previous.get(n, DEFAULT_SECONDS.get(n, 10)))
    print(f"course test: {len(chosen)} part(s), {min(jobs, len(chosen))} at a time; logs in "
          f"{_logs().relative_to(paths.ROOT) if _logs().is_relative_to(paths.ROOT) else _logs()}",
          flush=True)

    # Shared set-up once, before parts run side by side: the services they use and every
    # reference state they grade.
    was_up = services.status().supervisor
    was_enabled = set(services.enabled())
    from course.services import registry

    needed = sorted({s for name in chosen for s in PARTS[name].services
                     if not registry.get(s).automatic()})
    if needed:
        services.up(needed, quiet=True)
    cat = catalog.load()
    for state in ["00", *[c.number for c in cat.chapters if c.exercises]]:
        states.reference_state(cat, state)

    screen = _Screen()
    running: list[Running] = []
    results: list[Result] = []
    waiting = list(order)
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                item = _start(waiting.pop(0))
                running.append(item)
                screen.line(f"  ...  {item.name:<10} started ({PARTS[item.name].about})")
            for item in list(running):
                if item.process.poll() is not None:
                    running.remove(item)
                    result = _finish(item)
                    results.append(result)
                    screen.done(result)
            screen.update(running, waiting)
            time.sleep(0.2)
    finally:
        screen.stop()
        for item in running:  # interrupted: stop what still runs
            item.process.terminate()
        if not was_up:
            services.down()  # leave the machine as we found it
        else:
            dropped = [name for name in needed if name not in was_enabled
                       and name in services.enabled()]
            if dropped:
                services.down(dropped)
    _save_seconds(results)
    results.sort(key=lambda r: list(PARTS).index(r.name))
    install = os.environ.get("COURSE_INSTALL_SECONDS")
    _table(results, time.monotonic() - started, float(install) if install else None)
    return 0 if results and all(r.ok for r in results) else 1
