"""The instructor guide's timings, from a run as a learner's: each chapter's notebook top to
bottom on the data ``course lab`` seeds (``medium``) with full-length load runs, and
``check NN`` on the chapter's reference solution. The numbers are kept in
``lessons/agenda.json``; the guide's section (a table per chapter, then the one- and two-day
agendas with each block's minutes) is written from them.

    python -m course.suite.agenda --measure   # run it all (an hour and more on two cores)
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
AGENDAS = {
    "One day": [
        ("morning", ["00", "01", "02"]),
        ("after lunch", ["03", "04", "05"]),
    ],
    "Two days": [
        ("day 1, morning", ["00", "01", "02"]),
        ("day 1, afternoon", ["03", "04", "05"]),
        ("day 2, morning", ["06", "07", "08"]),
        ("day 2, afternoon", ["09", "12", "14"]),
    ],
}


def measure(progress=print) -> dict[str, Any]:
    """Run every notebook as a learner would and check every chapter's reference; the
    numbers for ``lessons/agenda.json``."""
    from course.grading import grader
    from course.project import states
    from course.suite import parts

    catalog = catalog_module.load()
    tally = parts.Tally()
    progress(f"running every notebook top to bottom on {LEARNER_SCALE} data …")
    notebooks = parts.run_notebooks(tally, scale=LEARNER_SCALE, quick=False)
    chapters: dict[str, dict[str, Any]] = {}
    for chapter in catalog.chapters:
        entry: dict[str, Any] = {"exercises": len(chapter.exercises),
                                 "notebook_s": round(notebooks.get(chapter.number, 0.0), 1)}
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
        "measured": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
                   f"Python {platform.python_version()}",
        "scale": LEARNER_SCALE,
        "notebook_failures": tally.problems,
        "chapters": chapters,
    }


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
    out = [
        f"Measured on {data['measured']} ({data['machine']}), as a learner runs it: each "
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
        for name, numbers in blocks:
            total = sum(planned_minutes(chapters[n]) for n in numbers if n in chapters)
            out.append(f"| {name} | {', '.join(numbers)} | {total // 60} h {total % 60:02d} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true",
                        help="run every notebook and check first (an hour and more)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the guide's section is not what agenda.json says")
    args = parser.parse_args(argv)
    if args.measure:
        data = measure(progress=lambda line: print(line, flush=True))
        AGENDA.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {AGENDA}")
    if not AGENDA.exists():
        print(f"{AGENDA} is missing: run `python -m course.suite.agenda --measure`",
              file=sys.stderr)
        return 1
    data = json.loads(AGENDA.read_text(encoding="utf-8"))
    text = guide.GUIDE.read_text(encoding="utf-8")
    wanted = guide.with_section(text, section(data, catalog_module.load()), START, END)
    return write_or_check(guide.GUIDE, wanted, check=args.check,
                          command="python -m course.suite.agenda")


if __name__ == "__main__":
    raise SystemExit(main())
