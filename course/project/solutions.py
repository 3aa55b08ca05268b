"""Show a reference solution: the diff of an exercise's files across its chapter."""

from __future__ import annotations

import difflib

from course.catalog import Catalog, Exercise
from course.project import states


def file_diffs(catalog: Catalog, exercise: Exercise) -> list[tuple[str, list[str]]]:
    """Unified diff lines per file, from the state before the chapter to after it."""
    before = states.reference_state(
        catalog, states.previous_chapter(catalog, exercise.chapter_number)
    )
    after = states.reference_state(catalog, exercise.chapter_number)
    diffs = []
    for rel in exercise.files:
        old = (states.file_in_state(before, rel) or b"").decode("utf-8", "replace")
        new = (states.file_in_state(after, rel) or b"").decode("utf-8", "replace")
        lines = list(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                new.splitlines(keepends=True),
                fromfile=f"a/starter_project/{rel}",
                tofile=f"b/starter_project/{rel}",
            )
        )
        diffs.append((rel, lines))
    return diffs


def diff(catalog: Catalog, exercise: Exercise, *, colour: bool = False) -> str:
    out = [f"Reference solution for {exercise.id} {exercise.title}:\n"]
    for rel, lines in file_diffs(catalog, exercise):
        if not lines:
            out.append(f"(starter_project/{rel} is unchanged in this chapter's solution)\n")
            continue
        for line in lines:
            if colour and line.startswith("+") and not line.startswith("+++"):
                line = f"\033[32m{line.rstrip(chr(10))}\033[0m\n"
            elif colour and line.startswith("-") and not line.startswith("---"):
                line = f"\033[31m{line.rstrip(chr(10))}\033[0m\n"
            out.append(line if line.endswith("\n") else line + "\n")
    out.append(f"\n(`python3 -m course apply {exercise.chapter_number}` writes the whole chapter's "
               "solution, with a backup of your files.)")
    return "".join(out)
