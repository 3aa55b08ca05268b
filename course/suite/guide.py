"""The instructor guide's list of common mistakes, exercise by exercise, written from the
course-owned wrong solutions (``exercises_tests/wrong/``): each is a mistake the graders are
proved to reject, so the list says what a room gets wrong, what the grader answers, and which
hint unblocks it.

    python -m course.suite.guide           # rewrite the section in lessons/instructor_guide.md
    python -m course.suite.guide --check   # exit 1 if it is not what the wrong solutions say

The section lies between two HTML comments in the guide; the rest of the guide is written by
hand.
"""

from __future__ import annotations

import argparse

from course import catalog as catalog_module
from course import paths
from course.generated import write_or_check
from course.project import steps

GUIDE = paths.LESSONS / "instructor_guide.md"
START = "<!-- common mistakes: written by `python -m course.suite.guide`, do not edit -->"
END = "<!-- end of common mistakes -->"


def mistakes(catalog: catalog_module.Catalog) -> str:
    """The section's Markdown: a heading per chapter, a line per exercise, a bullet per
    wrong solution."""
    by_exercise: dict[str, list[steps.Wrong]] = {}
    for wrong in steps.wrong_solutions(catalog):
        by_exercise.setdefault(wrong.exercise.id, []).append(wrong)
    out: list[str] = []
    for chapter in catalog.chapters:
        listed = [e for e in chapter.exercises if e.id in by_exercise]
        if not listed:
            continue
        out += [f"### {chapter.number} {chapter.title}", ""]
        for exercise in listed:
            out.append(f"**{exercise.id} {exercise.title}**")
            out.append("")
            for wrong in by_exercise[exercise.id]:
                out.append(f"- {wrong.what} The grader's message says \"{wrong.rejected_with}\"; "
                           f"hint {wrong.hint} of {len(exercise.hints)} unblocks it "
                           f"(`{wrong.path.name}`).")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def with_section(text: str, section: str, start: str = START, end: str = END) -> str:
    """``text`` with what lies between the comments ``start`` and ``end`` replaced."""
    if start not in text or end not in text:
        raise ValueError(f"{GUIDE.name} has no section between {start!r} and {end!r}")
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    return f"{before}{start}\n\n{section}\n{end}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = GUIDE.read_text(encoding="utf-8")
    wanted = with_section(text, mistakes(catalog_module.load()))
    return write_or_check(GUIDE, wanted, check=args.check, command="python -m course.suite.guide")


if __name__ == "__main__":
    raise SystemExit(main())
