"""One learner of a room, graded in a process of its own: ``course grade`` starts it, under
the room's guard (``guard_site/sitecustomize.py``), on the copy of that learner's project.

    python -m course.grading.room_learner --project COPY --only 02,06.1 --timeout 90 --out F

Writes the verdicts as JSON to ``--out`` (one object per exercise) after each chapter, and
nothing else.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from course import catalog as catalog_module
from course.grading import grader


def select(catalog: catalog_module.Catalog, only: str | None) -> list[catalog_module.Exercise]:
    """The exercises of ``only``: chapters (``NN``) and exercises (``NN.M``), comma-separated,
    in the catalog's order; every exercise when it is empty."""
    wanted = [part.strip() for part in (only or "").split(",") if part.strip()]
    if not wanted:
        return list(catalog.exercises)
    chosen = {exercise.id for part in wanted for exercise in catalog.select(part)}
    return [exercise for exercise in catalog.exercises if exercise.id in chosen]


def as_json(verdict: grader.Verdict) -> dict[str, object]:
    return {"id": verdict.exercise.id, "status": verdict.status, "message": verdict.message,
            "measured": verdict.measured_text(), "duration": round(verdict.duration, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--only", default="")
    parser.add_argument("--timeout", type=int, default=grader.DEFAULT_TIME_LIMIT)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    catalog = catalog_module.load()
    exercises = select(catalog, args.only)
    graded: list[dict[str, object]] = []
    # A chapter at a time, each written down at once: a learner stopped at the room's time
    # limit keeps the verdicts of the chapters graded before.
    for number in dict.fromkeys(exercise.chapter_number for exercise in exercises):
        chapter = [exercise for exercise in exercises if exercise.chapter_number == number]
        verdicts = grader.grade(chapter, catalog, target=args.project, time_limit=args.timeout,
                                processes=1)
        graded += [as_json(v) for v in verdicts]
        partial = args.out.with_suffix(".part")
        partial.write_text(json.dumps(graded, indent=1), encoding="utf-8")
        partial.replace(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
