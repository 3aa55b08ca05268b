"""Turn grading verdicts into what a person reads: a terminal table (rich) or a notebook table
(a pandas Styler: one row per exercise, the result coloured)."""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING

from course import text
from course.grading.grader import ERROR, FAILED, NOT_ATTEMPTED, PASSED, TIMED_OUT, Verdict

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

SYMBOLS = {PASSED: "PASS", FAILED: "FAIL", NOT_ATTEMPTED: "TODO", TIMED_OUT: "TIME", ERROR: "ERR"}
STYLES = {PASSED: "bold green", FAILED: "bold red", NOT_ATTEMPTED: "bold yellow",
          TIMED_OUT: "bold red", ERROR: "bold red"}
HTML_COLOURS = {
    PASSED: "#1a7f37", FAILED: "#cf222e", NOT_ATTEMPTED: "#9a6700",
    TIMED_OUT: "#cf222e", ERROR: "#cf222e",
}


def explanation(verdict: Verdict) -> str:
    """What to tell the learner beyond pass/fail."""
    if verdict.status == PASSED:
        return ""
    if verdict.status == NOT_ATTEMPTED:
        return (f"Not started yet: edit {', '.join(verdict.exercise.files)} "
                f"(look for TODO({verdict.exercise.id})). Delete that comment when you start: "
                "while it is there, the exercise reads as not started.")
    message, number = split_hint(verdict.message)
    hints = verdict.exercise.hints
    if hints and verdict.status in (FAILED, TIMED_OUT):
        message += f"\nHint: {hints[min(number, len(hints)) - 1]}"
    return message


HINT_TAG = re.compile(r"\s*\[hint (\d+)\]\s*$")


def split_hint(message: str) -> tuple[str, int]:
    """A grader's message and the number of the hint that matches its failure.

    A grader ends a message with ``[hint N]`` when one of the exercise's hints answers that
    failure better than the first (``assert ok, "... [hint 2]"``); without a tag, hint 1.
    """
    found = HINT_TAG.search(message)
    if not found:
        return message, 1
    return message[:found.start()], max(1, int(found.group(1)))


def text_table(verdicts: list[Verdict], *, colour: bool = False) -> str:
    """One row per exercise: id, result, title; then what was measured and what to do next."""
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=False, show_edge=False, box=None, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for verdict in verdicts:
        detail = Text(verdict.exercise.title)
        measured = verdict.measured_text()
        if measured:
            detail.append(f"\nmeasured: {measured}", style="dim")
        for paragraph in explanation(verdict).splitlines():
            detail.append(f"\n{paragraph}")
        table.add_row(verdict.exercise.id,
                      Text(SYMBOLS[verdict.status], style=STYLES[verdict.status]), detail)
    passed = sum(v.passed for v in verdicts)
    width = max(60, min(shutil.get_terminal_size((100, 20)).columns, 120))
    return text.render(table, f"\n{passed}/{len(verdicts)} passed", width=width, colour=colour)


def html_table(verdicts: list[Verdict]) -> Styler:
    """The verdicts for a notebook: exercise, title, result (coloured), measured, what next."""
    import pandas

    frame = pandas.DataFrame.from_records([{
        "exercise": v.exercise.id,
        "title": v.exercise.title,
        "result": v.status,
        "measured (target)": v.measured_text(),
        "what next": explanation(v),
    } for v in verdicts])
    return (frame.style.hide(axis="index")
            .format(escape="html")
            .map(lambda status: f"color: {HTML_COLOURS[status]}; font-weight: bold",
                 subset=["result"])
            .set_properties(subset=["what next"], **{"text-align": "left",
                                                      "white-space": "pre-wrap"}))
