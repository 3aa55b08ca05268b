"""Grade a room: many learners' checkouts, each graded by the instructor's graders, side by
side within the machine's cores, each one isolated and time-limited.

Every learner's project is copied into a folder of the run's own and graded there, by a
process of its own (``room_learner``) in a session of its own, with:

- the instructor's graders and course, never the learner's ``exercises_tests/``;
- a Redis slot, test databases and ports of its own (as any grading run has);
- the room's guard (``guard_site/sitecustomize.py``) in every Python process it starts: no
  reading another learner's files, no writing the graders, nothing but 127.0.0.1;
- a time limit per test (the graders' watchdog) and one for the whole learner, after which
  its whole process tree is killed, and anything it started outside that tree too (found by
  a variable in its environment).

The results go to ``grades.csv`` and a self-contained ``report.html`` (learner × exercise,
what was measured, the first failing message), with each learner's output in ``logs/``.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from course import paths
from course.grading import grader, slots

TAG_VARIABLE = "COURSE_ROOM_TAG"
NOT_GRADED = "not graded"
COPY_IGNORES = shutil.ignore_patterns(
    ".venv", "venv", "__pycache__", "*.pyc", ".git", "node_modules", "*.sqlite3",
    "*.sqlite3-*", ".course", "media", "staticfiles", ".pytest_cache")
MARKS = {grader.PASSED: "✓", grader.NOT_ATTEMPTED: "·", grader.FAILED: "✗",
         grader.TIMED_OUT: "⌛", grader.ERROR: "!", NOT_GRADED: "–"}
COLOURS = {grader.PASSED: "#dafbe1", grader.NOT_ATTEMPTED: "#f6f8fa", grader.FAILED: "#ffebe9",
           grader.TIMED_OUT: "#fff8c5", grader.ERROR: "#ffebe9", NOT_GRADED: "#eaeef2"}


@dataclass
class Learner:
    name: str
    source: Path  # the folder the instructor named
    project: Path | None = None  # the learner's starter_project/ in that folder
    folder: Path | None = None  # this run's folder for the learner: the copy, logs, guard
    problem: str = ""  # why it could not be graded at all
    verdicts: list[dict[str, object]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False  # killed at the learner's time limit

    @property
    def copy(self) -> Path:
        assert self.folder is not None
        return self.folder / "starter_project"

    @property
    def passed(self) -> int:
        return sum(v["status"] == grader.PASSED for v in self.verdicts)


def find_project(folder: Path) -> Path | None:
    """A course checkout's ``starter_project/``, or the folder itself if it holds manage.py."""
    for candidate in (folder / "starter_project", folder):
        if (candidate / "manage.py").is_file():
            return candidate
    return None


def prepare(folders: list[Path], run: Path) -> list[Learner]:
    """A learner per folder, named after it (made unique), its project copied into ``run``."""
    learners: list[Learner] = []
    taken: set[str] = set()
    for source in folders:
        source = source.resolve()
        name = base = re.sub(r"[^\w.-]+", "-", source.name if source.name != "starter_project"
                             else source.parent.name) or "learner"
        number = 2
        while name in taken:
            name, number = f"{base}-{number}", number + 1
        taken.add(name)
        learner = Learner(name, source, find_project(source), run / name)
        learner.folder.mkdir(parents=True)
        if learner.project is None:
            learner.problem = ("not a course checkout (no starter_project/manage.py) nor a "
                               "project (no manage.py)")
        else:
            shutil.copytree(learner.project, learner.copy, ignore=COPY_IGNORES, symlinks=True)
        learners.append(learner)
    return learners


def guard_config(learner: Learner, room: list[Learner]) -> Path:
    """The guard's rules for one learner: the others' projects and copies are closed to it,
    the instructor's graders and course are read-only."""
    others = [other for other in room if other is not learner]
    closed = sorted({str(p) for other in others for p in (other.project, other.folder) if p}
                    | ({str(learner.project)} if learner.project else set()))
    config = {"deny_read": closed,
              "deny_write": [str(paths.EXERCISES_TESTS), str(paths.ROOT / "course"),
                             str(paths.SOLUTIONS), *closed],
              "log": str(learner.folder / "refused.log")}
    path = learner.folder / "guard.json"
    path.write_text(json.dumps(config, indent=1), encoding="utf-8")
    return path


def tagged_processes(tag: str) -> list[int]:
    """Processes whose environment carries ``TAG_VARIABLE=tag`` (Linux: read from /proc)."""
    wanted = f"{TAG_VARIABLE}={tag}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if wanted in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except (OSError, ValueError):
            continue
    return [pid for pid in found if pid != os.getpid()]


def sweep(tag: str) -> int:
    """Kill whatever a learner's grading left running; how many processes that was."""
    killed = 0
    for _ in range(3):  # a dying parent may start a child in between
        found = tagged_processes(tag)
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.2)
    return killed


def _refusals(log: Path) -> list[str]:
    if not log.exists():
        return []
    seen: list[str] = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        what = line.partition(" ")[2].strip()
        if what and what not in seen:
            seen.append(what)
    return seen


def grade_learner(learner: Learner, room: list[Learner], *, only: str, exercise_ids: list[str],
                  test_limit: int, learner_limit: float, tag: str) -> Learner:
    """Grade one learner in a process tree of its own, killed whole at ``learner_limit``."""
    if learner.problem:
        return learner
    assert learner.folder is not None
    out = learner.folder / "verdicts.json"
    env = dict(os.environ)
    for name in ("DJANGO_SETTINGS_MODULE", "COURSE_TARGET_DIR", "DATABASE_URL"):
        env.pop(name, None)
    env.update({paths.GUARD_VARIABLE: str(guard_config(learner, room)), TAG_VARIABLE: tag,
                "PYTHONPATH": os.pathsep.join([str(paths.GUARD_SITE), str(paths.ROOT)]),
                "PYTHONDONTWRITEBYTECODE": "1", "COURSE_GRADING_PROCESSES": "1"})
    started = time.monotonic()
    with open(learner.folder / "grading.log", "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "course.grading.room_learner", "--project",
             str(learner.copy), "--only", only, "--timeout", str(test_limit), "--out", str(out)],
            cwd=learner.folder, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            process.wait(timeout=learner_limit)
        except subprocess.TimeoutExpired:
            learner.stopped = True
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        finally:
            sweep(tag)
    learner.seconds = time.monotonic() - started
    try:
        graded = {v["id"]: v for v in json.loads(out.read_text(encoding="utf-8"))}
    except (OSError, ValueError):
        graded = {}
    last = _last_line(learner.folder / "grading.log")
    for ident in exercise_ids:
        if ident in graded:
            learner.verdicts.append(graded[ident])
        elif learner.stopped:
            learner.verdicts.append({"id": ident, "status": grader.TIMED_OUT, "measured": "",
                                     "message": f"the learner's time limit ({learner_limit:.0f} "
                                                "s) ran out before this exercise was graded",
                                     "duration": 0.0})
        else:
            learner.verdicts.append({"id": ident, "status": grader.ERROR, "measured": "",
                                     "message": f"grading stopped: {last}", "duration": 0.0})
    learner.refused = _refusals(learner.folder / "refused.log")
    return learner


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(encoding="utf-8", errors="replace")
                 .splitlines() if line.strip()]
    except OSError:
        return "no output"
    return lines[-1].strip() if lines else "no output"


def learner_limit_for(exercise_ids: list[str]) -> float:
    """A learner's time limit: three times what the exercises last took (ten seconds for one
    never timed), and at least two minutes."""
    known = grader._known_durations()
    return max(120.0, 3 * sum(known.get(ident, 10.0) for ident in exercise_ids) + 30)


def prebuild(catalog, exercises) -> None:
    """What every learner's grading reads and none may build at the same moment: the course's
    services and the reference states that tell an untouched exercise."""
    from course import services
    from course.project import states

    services.up([*catalog.services_for(exercises),
                 *(["postgres"] if any(e.graded_on(None) == "postgres" for e in exercises)
                   else [])], quiet=True)
    states.reference_state(catalog, "00")
    for number in sorted({exercise.chapter_number for exercise in exercises}):
        states.state_before_chapter(catalog, number)


def grade_room(folders: list[Path], *, only: str = "", test_limit: int = grader.DEFAULT_TIME_LIMIT,
               learner_limit: float | None = None, jobs: int | None = None,
               out: Path | None = None,
               progress: Callable[[str], None] = print) -> tuple[list[Learner], list[str], Path]:
    """Grade every folder; returns the learners, the exercises graded and the folder of the
    report."""
    from course import catalog as catalog_module
    from course.grading.room_learner import select

    catalog = catalog_module.load()
    exercises = select(catalog, only)
    ids = [exercise.id for exercise in exercises]
    out = out or paths.STATE / "reports" / f"room-{datetime.now():%Y%m%d-%H%M%S}"
    run = out / "learners"
    run.mkdir(parents=True, exist_ok=False)
    learners = prepare(folders, run)
    limit = learner_limit or learner_limit_for(ids)
    workers = max(1, min(jobs or os.cpu_count() or 1, slots.SLOTS, len(learners)))
    progress(f"Grading {len(learners)} learner(s) on {len(ids)} exercise(s), {workers} at a "
             f"time; at most {test_limit} s a test and {limit:.0f} s a learner …")
    prebuild(catalog, exercises)
    tag = f"room-{os.getpid()}-{time.time_ns()}"
    done = 0

    def one(learner: Learner) -> Learner:
        nonlocal done
        grade_learner(learner, learners, only=",".join(ids), exercise_ids=ids,
                      test_limit=test_limit, learner_limit=limit, tag=f"{tag}-{learner.name}")
        done += 1
        note = learner.problem or (f"{learner.passed}/{len(ids)} passed in "
                                   f"{learner.seconds:.0f} s" + (" (time limit)" if
                                                                 learner.stopped else ""))
        progress(f"[{done}/{len(learners)}] {learner.name}: {note}")
        return learner

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, learners))
    write_csv(learners, ids, out / "grades.csv")
    write_html(learners, ids, out / "report.html", catalog)
    return learners, ids, out


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[0] if lines else ""


def write_csv(learners: list[Learner], ids: list[str], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        table = csv.writer(out)
        table.writerow(["learner", "exercise", "status", "measured", "message", "seconds",
                        "refused"])
        for learner in learners:
            refused = "; ".join(learner.refused)
            if learner.problem:
                table.writerows([learner.name, ident, NOT_GRADED, "", learner.problem, "", ""]
                                for ident in ids)
                continue
            for verdict in learner.verdicts:
                table.writerow([learner.name, verdict["id"], verdict["status"],
                                verdict.get("measured", ""), _first_line(verdict.get("message")),
                                verdict.get("duration", ""), refused])


def write_html(learners: list[Learner], ids: list[str], path: Path, catalog) -> None:
    """One page, no outside file: the table, then what failed for whom."""
    e = html.escape
    titles = {exercise.id: exercise.title for exercise in catalog.exercises}
    head = "".join(f'<th title="{e(titles.get(i, ""))}">{e(i)}</th>' for i in ids)
    rows, details = [], []
    for learner in learners:
        cells = []
        by_id = {v["id"]: v for v in learner.verdicts}
        for ident in ids:
            verdict = by_id.get(ident, {"status": NOT_GRADED, "message": learner.problem})
            status = str(verdict["status"])
            tip = " — ".join(filter(None, [status, str(verdict.get("measured") or ""),
                                           _first_line(verdict.get("message"))]))
            cells.append(f'<td style="background:{COLOURS.get(status, "#fff")}" '
                         f'title="{e(tip)}">{MARKS.get(status, "?")}</td>')
        notes = learner.problem or (f"{learner.seconds:.0f} s"
                                    + (", stopped at the time limit" if learner.stopped else ""))
        rows.append(f"<tr><th>{e(learner.name)}</th>{''.join(cells)}"
                    f"<td>{learner.passed}/{len(ids)}</td><td>{e(notes)}</td></tr>")
        items = [f"<li><b>{e(str(v['id']))}</b> {e(str(v['status']))}: "
                 f"{e(_first_line(v.get('message')))}"
                 + (f" <i>(measured {e(str(v['measured']))})</i>" if v.get("measured") else "")
                 + "</li>" for v in learner.verdicts if v["status"] != grader.PASSED]
        items += [f"<li>refused: {e(what)}</li>" for what in learner.refused]
        if learner.problem:
            items.append(f"<li>{e(learner.problem)}</li>")
        if items:
            details.append(f"<h3>{e(learner.name)}</h3><ul>{''.join(items)}</ul>")
    legend = " ".join(f"{mark} {e(status)}" for status, mark in MARKS.items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Room report</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1f2328; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #d0d7de; padding: 4px 8px; text-align: center; }}
tbody th {{ text-align: left; }}
li {{ margin: 2px 0; }}
</style></head><body>
<h1>Room report</h1>
<p>{len(learners)} learner(s), {len(ids)} exercise(s), graded {datetime.now():%Y-%m-%d %H:%M}
by the instructor's graders. Hover a cell for what was measured and why it failed.</p>
<table><thead><tr><th>learner</th>{head}<th>passed</th><th>notes</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<p>{legend}</p>
<h2>What did not pass</h2>
{''.join(details) or '<p>Everything passed.</p>'}
</body></html>
"""
    path.write_text(page, encoding="utf-8")
