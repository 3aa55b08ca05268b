"""The instructor guide's timings, from a run as a learner's: each chapter's notebook top to
bottom on the data ``course lab`` seeds (``medium``) with full-length load runs, and
``check NN`` on the chapter's reference solution. The numbers are kept in
``lessons/agenda.json``; the guide's section (a table per chapter, then the one- and two-day
agendas with each block's minutes) is written from them.

    python -m course.suite.agenda --measure   # run it all (an hour and more on two cores)
    python -m course.suite.agenda --measure --only 07,08   # those chapters again, kept with the rest
    python -m course.suite.agenda             # rewrite the section from lessons/agenda.json
    python -m course.suite.agenda --check     # exit 1 if the section is not what it says

What a person spends reading and editing is not measured: the plan adds a stated allowance
per chapter and per exercise to the measured machine time, and says so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from typing import Any

from course import catalog as catalog_module
from course import paths
from course.generated import write_or_check
from course.suite import guide

AGENDA = paths.LESSONS / "agenda.json"
START = "<!-- timings: written by `python -m course.suite.agenda`, do not edit -->"
END = "<!-- end of timings -->"
LEARNER_SCALE = "medium"  # what `course lab` seeds
READING_MIN = 15  # a chapter's lesson and the notebook's prose (an allowance, not measured)
WORK_MIN = 12  # an exercise's reading, editing and trying (an allowance, not measured)
CHECKS = 3  # checks of an exercise before it passes (an allowance)
DAY_MIN = 360  # a workshop day's working time, in the plans' minutes
AT_HOME = "at home, after `course lab`"  # a block before the day, not in its minutes
AGENDAS = {  # whole chapters in order (each builds on those before), each day within DAY_MIN
    "One day": [
        (AT_HOME, ["00"]),
        ("morning", ["01", "02"]),
        ("afternoon", ["03", "04"]),
    ],
    "Two days": [
        (AT_HOME, ["00"]),
        ("day 1, morning", ["01", "02"]),
        ("day 1, afternoon", ["03", "04"]),
        ("day 2, morning", ["05"]),
        ("day 2, afternoon", ["06", "07"]),
    ],
}


def measure(progress=print, only: list[str] | None = None) -> dict[str, Any]:
    """Run every notebook (``only``: these chapters') as a learner would and check each
    chapter's reference; the numbers for ``lessons/agenda.json``."""
    from course.grading import grader
    from course.project import states
    from course.suite import parts

    catalog = catalog_module.load()
    tally = parts.Tally()
    which = "every notebook" if only is None else f"the notebooks of {', '.join(only)}"
    progress(f"running {which} top to bottom on {LEARNER_SCALE} data …")
    run = parts.run_notebooks(tally, scale=LEARNER_SCALE, quick=False, only=only)
    today = time.strftime("%Y-%m-%d")
    chapters: dict[str, dict[str, Any]] = {}
    for chapter in catalog.chapters:
        if only is not None and chapter.number not in only:
            continue
        entry: dict[str, Any] = {"exercises": len(chapter.exercises), "measured": today,
                                 "notebook_s": round(run.seconds.get(chapter.number, 0.0), 1),
                                 "notebook_ran": chapter.number in run.seconds,
                                 "notebook_failed": chapter.number in run.failing}
        if chapter.exercises:
            target = states.reference_state(catalog, chapter.number)
            started = time.monotonic()
            verdicts = grader.grade(list(chapter.exercises), catalog, target=target)
            entry["check_s"] = round(time.monotonic() - started, 1)
            entry["passed"] = sum(v.passed for v in verdicts)
        chapters[chapter.number] = entry
        progress(f"  {chapter.number}: notebook {entry['notebook_s']:.0f} s, "
                 f"check {entry.get('check_s', 0):.0f} s")
    return {
        "machine": machine(),
        "scale": LEARNER_SCALE,
        "chapters": chapters,
    }


def machine() -> str:
    return (f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}")


def merged(kept: dict[str, Any], fresh: dict[str, Any]) -> dict[str, Any]:
    """``fresh`` chapters replace those ``kept``; the others stay, if measured on the same
    kind of machine (or the numbers would not compare, and all must be measured again)."""
    if kept.get("machine") != fresh["machine"] or kept.get("scale") != fresh["scale"]:
        raise ValueError(f"{AGENDA.name} was measured on {kept.get('machine')} "
                         f"({kept.get('scale')} data), not {fresh['machine']} "
                         f"({fresh['scale']} data): measure every chapter again "
                         "(`--measure` without `--only`)")
    chapters = {**kept.get("chapters", {}), **fresh["chapters"]}
    return {**fresh, "chapters": dict(sorted(chapters.items()))}


def stale(data: dict[str, Any], catalog: catalog_module.Catalog) -> list[str]:
    """Why ``data`` no longer describes the course: chapters missing or changed, notebooks
    that failed, references that did not pass."""
    problems = []
    chapters = data.get("chapters", {})
    for chapter in catalog.chapters:
        entry = chapters.get(chapter.number)
        if entry is None:
            problems.append(f"chapter {chapter.number} was never measured")
        elif not entry.get("notebook_ran") or entry.get("notebook_failed"):
            problems.append(f"chapter {chapter.number}'s notebook "
                            f"{'failed' if entry.get('notebook_ran') else 'did not run'} "
                            "when measured: its time is not the whole notebook's")
        elif entry["exercises"] != len(chapter.exercises):
            problems.append(f"chapter {chapter.number} had {entry['exercises']} exercises when "
                            f"measured, and has {len(chapter.exercises)}")
        elif entry.get("passed", 0) != len(chapter.exercises):
            problems.append(f"chapter {chapter.number}: {entry.get('passed', 0)} of "
                            f"{len(chapter.exercises)} references passed when measured")
    return problems


def planned_minutes(entry: dict[str, Any]) -> int:
    """A chapter's minutes: the allowances, the notebook's run, and the checks; to five."""
    exercises = entry["exercises"]
    machine = entry["notebook_s"] + CHECKS * entry.get("check_s", 0.0)
    minutes = READING_MIN + WORK_MIN * exercises + machine / 60
    return int(math.ceil(minutes / 5) * 5)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def section(data: dict[str, Any], catalog: catalog_module.Catalog) -> str:
    chapters = data["chapters"]
    dates = sorted({entry["measured"] for entry in chapters.values()})
    when = f"on {dates[0]}" if len(dates) == 1 else f"between {dates[0]} and {dates[-1]}"
    out = [
        f"Measured {when} ({data['machine']}), as a learner runs it: each "
        f"notebook top to bottom on the `{data['scale']}` data `course lab` seeds, load runs "
        "at full length; `check NN` on the chapter's reference solution. The plan adds "
        f"{READING_MIN} minutes a chapter for the lesson and {WORK_MIN} minutes an exercise "
        f"for reading its hint, editing and trying (allowances, not measurements) and "
        f"{CHECKS} checks an exercise, rounded up to five minutes. Regenerate with "
        "`python -m course.suite.agenda --measure` on the machine a room will use.",
        "",
        "| chapter | exercises | notebook, top to bottom | `check NN` | planned |",
        "|---|---|---|---|---|",
    ]
    for chapter in catalog.chapters:
        entry = chapters.get(chapter.number)
        if entry is None:
            continue
        check = _minutes(entry["check_s"]) if "check_s" in entry else "–"
        out.append(f"| {chapter.number} {chapter.title} | {entry['exercises']} | "
                   f"{_minutes(entry['notebook_s'])} | {check} | "
                   f"{planned_minutes(entry)} min |")
    for title, blocks in AGENDAS.items():
        out += ["", f"{title}:", "", "| block | chapters | planned |", "|---|---|---|"]
        known = {chapter.number for chapter in catalog.chapters}
        for name, numbers in blocks:
            numbers = [number for number in numbers if number in known]
            if not numbers:
                continue
            total = sum(planned_minutes(chapters[n]) for n in numbers if n in chapters)
            out.append(f"| {name} | {', '.join(numbers)} | {total // 60} h {total % 60:02d} |")
        planned = {number for _, numbers in blocks for number in numbers}
        left = [chapter.number for chapter in catalog.chapters if chapter.number not in planned]
        if left:
            out += ["", f"Left for homework or another day: {', '.join(left)}."]
    return "\n".join(out) + "\n"


def overbooked(data: dict[str, Any]) -> list[str]:
    """The days of the plans that their measured chapters no longer fit."""
    chapters = data["chapters"]
    problems = []
    for title, blocks in AGENDAS.items():
        days: dict[str, int] = {}
        for name, numbers in blocks:
            if name == AT_HOME:
                continue
            day = name.split(",")[0] if "," in name else "the day"
            days[day] = days.get(day, 0) + sum(planned_minutes(chapters[n]) for n in numbers
                                               if n in chapters)
        problems += [f"{title}, {day}: {minutes} min planned, more than {DAY_MIN}"
                     for day, minutes in days.items() if minutes > DAY_MIN]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true",
                        help="run every notebook and check first (an hour and more)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the guide's section is not what agenda.json says")
    parser.add_argument("--only", metavar="NN,NN",
                        help="with --measure: these chapters only, the others kept as measured")
    args = parser.parse_args(argv)
    catalog = catalog_module.load()
    if args.only and not args.measure:
        parser.error("--only goes with --measure")
    if args.measure:
        only = None
        if args.only:
            only = [number.strip() for number in args.only.split(",") if number.strip()]
            known = {chapter.number for chapter in catalog.chapters}
            unknown = [number for number in only if number not in known]
            if unknown:
                parser.error(f"no chapter {', '.join(unknown)} (chapters: {', '.join(sorted(known))})")
        kept = json.loads(AGENDA.read_text(encoding="utf-8")) \
            if only is not None and AGENDA.exists() else None
        if kept is not None:  # refused before an hour's work, not after it
            try:
                merged(kept, {"machine": machine(), "scale": LEARNER_SCALE, "chapters": {}})
            except ValueError as error:
                print(f"course: {error}", file=sys.stderr)
                return 1
        data = measure(progress=lambda line: print(line, flush=True), only=only)
        if kept is not None:
            data = merged(kept, data)
        AGENDA.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {AGENDA}")
        for problem in stale(data, catalog) + overbooked(data):
            print(f"course: {problem}", file=sys.stderr)
    if not AGENDA.exists():
        print(f"{AGENDA} is missing: run `python -m course.suite.agenda --measure`",
              file=sys.stderr)
        return 1
    data = json.loads(AGENDA.read_text(encoding="utf-8"))
    text = guide.GUIDE.read_text(encoding="utf-8")
    wanted = guide.with_section(text, section(data, catalog), START, END)
    return write_or_check(guide.GUIDE, wanted, check=args.check,
                          command="python -m course.suite.agenda")


if __name__ == "__main__":
    raise SystemExit(main())
