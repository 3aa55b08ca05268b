"""Show an exercise's reference solution: its own step, as a diff, and nothing of the others."""

from __future__ import annotations

from course.catalog import Catalog, Exercise
from course.project import layout, patches, steps


def file_diffs(catalog: Catalog, exercise: Exercise) -> list[tuple[str, str]]:
    """The exercise's change, file by file: (path, unified diff text)."""
    return [(file_patch.path, patches.render([file_patch]))
            for file_patch in steps.Step(exercise).file_patches()]


def _paint(line: str, colour: bool) -> str:
    if colour and line.startswith("+") and not line.startswith("+++"):
        return f"\033[32m{line}\033[0m"
    if colour and line.startswith("-") and not line.startswith("---"):
        return f"\033[31m{line}\033[0m"
    if colour and line.startswith("@@"):
        return f"\033[36m{line}\033[0m"
    return line


def diff(catalog: Catalog, exercise: Exercise, *, colour: bool = False) -> str:
    out = [f"Reference solution for {exercise.id} {exercise.title}", ""]
    for _path, text in file_diffs(catalog, exercise):
        for line in text.splitlines():
            if line.startswith(("--- ", "+++ ")):
                line = line.replace(" a/", " a/starter_project/", 1).replace(
                    " b/", " b/starter_project/", 1)
            out.append(_paint(line, colour))
    out.append("")
    out.append(f"(This is {exercise.id}'s change only, against the project as it is before it. "
               f"`python3 -m course apply {exercise.chapter_number}` writes the whole chapter's "
               "solution, with a backup of your files.)")
    for item in layout.leftovers():
        note = layout.notice(item, {exercise.id})
        if note:
            out.append(f"Note: {note}")
    return "\n".join(out)
