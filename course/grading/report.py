"""Turn grading verdicts into what a person reads: a terminal table or notebook HTML."""

from __future__ import annotations

import html
import shutil
import textwrap

from course.grading.grader import ERROR, FAILED, NOT_ATTEMPTED, PASSED, TIMED_OUT, Verdict

SYMBOLS = {PASSED: "PASS", FAILED: "FAIL", NOT_ATTEMPTED: "TODO", TIMED_OUT: "TIME", ERROR: "ERR "}
COLOURS = {PASSED: "32", FAILED: "31", NOT_ATTEMPTED: "33", TIMED_OUT: "31", ERROR: "31"}
HTML_COLOURS = {
    PASSED: "#1a7f37", FAILED: "#cf222e", NOT_ATTEMPTED: "#9a6700",
    TIMED_OUT: "#cf222e", ERROR: "#cf222e",
}


def explanation(verdict: Verdict) -> str:
    """What to tell the learner beyond pass/fail."""
    if verdict.status == PASSED:
        return ""
    if verdict.status == NOT_ATTEMPTED:
        return f"Not started yet: edit {', '.join(verdict.exercise.files)} (look for TODO({verdict.exercise.id}))."
    text = verdict.message
    if verdict.exercise.hints and verdict.status in (FAILED, TIMED_OUT):
        text += f"\nHint: {verdict.exercise.hints[0]}"
    return text


def _paint(text: str, status: str, colour: bool) -> str:
    return f"\033[{COLOURS[status]}m{text}\033[0m" if colour else text


def text_table(verdicts: list[Verdict], *, colour: bool = False) -> str:
    width = max(60, min(shutil.get_terminal_size((100, 20)).columns, 120))
    title_width = max(len(v.exercise.title) for v in verdicts)
    lines = []
    for verdict in verdicts:
        measured = verdict.measured_text()
        head = (
            f"{verdict.exercise.id:<5} {_paint(SYMBOLS[verdict.status], verdict.status, colour)}  "
            f"{verdict.exercise.title:<{title_width}}"
        )
        lines.append(head)
        if measured:
            lines.extend(textwrap.wrap(f"measured: {measured}", width - 12,
                                       initial_indent=" " * 12, subsequent_indent=" " * 14))
        for paragraph in explanation(verdict).splitlines():
            lines.extend(textwrap.wrap(paragraph, width - 12, initial_indent=" " * 12,
                                       subsequent_indent=" " * 14))
    passed = sum(v.passed for v in verdicts)
    lines.append(f"\n{passed}/{len(verdicts)} passed")
    return "\n".join(lines)


def html_table(verdicts: list[Verdict]) -> str:
    rows = []
    for verdict in verdicts:
        colour = HTML_COLOURS[verdict.status]
        detail = html.escape(explanation(verdict)).replace("\n", "<br>")
        rows.append(
            "<tr>"
            f"<td><b>{verdict.exercise.id}</b></td>"
            f"<td>{html.escape(verdict.exercise.title)}</td>"
            f"<td style='color:{colour};font-weight:bold'>{verdict.status}</td>"
            f"<td>{html.escape(verdict.measured_text())}</td>"
            f"<td style='text-align:left'>{detail}</td>"
            "</tr>"
        )
    return (
        "<table><thead><tr><th>exercise</th><th>title</th><th>result</th>"
        "<th>measured (target)</th><th>what next</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
