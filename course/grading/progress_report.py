"""The learner's progress as plain text to paste (a chat, an issue, a workshop's shared notes)
and as one self-contained HTML page: chapter by chapter, each exercise with what the last
check of it said and measured.

Both read what ``course check`` recorded; neither grades anything.
"""

from __future__ import annotations

import html
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course import paths
from course.catalog import Catalog
from course.grading import progress

DEFAULT_HTML = paths.STATE / "reports" / "progress.html"
BAR = 10


@dataclass
class ExerciseLine:
    id: str
    title: str
    passed: bool
    last: str  # the last verdict on the learner's project, or "not checked yet"
    measured: str  # what that check measured, "" if nothing


@dataclass
class ChapterLine:
    number: str
    title: str
    exercises: list[ExerciseLine] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(e.passed for e in self.exercises)

    def bar(self) -> str:
        if not self.exercises:
            return ""
        filled = round(BAR * self.passed / len(self.exercises))
        return f"[{'#' * filled}{'.' * (BAR - filled)}] {self.passed}/{len(self.exercises)}"


def chapters(catalog: Catalog, passed: dict[str, str] | None = None,
             entries: list[dict[str, Any]] | None = None) -> list[ChapterLine]:
    passed = progress.load().passed if passed is None else passed
    latest = progress.latest_measurements(progress.ledger_entries() if entries is None
                                          else entries)
    found = []
    for chapter in catalog.chapters:
        line = ChapterLine(chapter.number, chapter.title)
        for exercise in chapter.exercises:
            entry = latest.get((exercise.id, "starter"))
            measured = "; ".join(
                f"{m.get('value')}{' ' + m['unit'] if m.get('unit') else ''}"
                for m in (entry or {}).get("measured", []))
            line.exercises.append(ExerciseLine(
                exercise.id, exercise.title, exercise.id in passed,
                str(entry.get("status")) if entry else "not checked yet", measured))
        found.append(line)
    return found


def _totals(lines: list[ChapterLine]) -> tuple[int, int]:
    return (sum(c.passed for c in lines), sum(len(c.exercises) for c in lines))


def plain(lines: list[ChapterLine]) -> str:
    """Plain text, no colour and no table borders: it pastes as it looks."""
    done, total = _totals(lines)
    width = max(len(c.title) for c in lines)
    out = [f"Django Under Load: {done}/{total} exercises passed "
           f"({time.strftime('%Y-%m-%d %H:%M')}, Python {platform.python_version()}, "
           f"{platform.system()})", ""]
    for chapter in lines:
        if not chapter.exercises:
            out.append(f"{chapter.number} {chapter.title:<{width}}  (guided tour)")
            continue
        marks = " ".join(f"{e.id}{'✓' if e.passed else '·'}" for e in chapter.exercises)
        out.append(f"{chapter.number} {chapter.title:<{width}}  {chapter.bar()}  {marks}")
    checked = [e for c in lines for e in c.exercises if e.last != "not checked yet"]
    if checked:
        out += ["", "Last checks:"]
        for exercise in checked:
            text = f"  {exercise.id} {exercise.last}"
            if exercise.measured:
                text += f": {exercise.measured}"
            out.append(text)
    return "\n".join(out) + "\n"


COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "timed out": "#cf222e", "error": "#cf222e",
           "not attempted": "#9a6700", "not checked yet": "#57606a"}


def html_page(lines: list[ChapterLine]) -> str:
    """One page, no outside file: a bar per chapter, a row per exercise."""
    e = html.escape
    done, total = _totals(lines)
    sections = []
    for chapter in lines:
        if not chapter.exercises:
            sections.append(f"<h2>{e(chapter.number)} {e(chapter.title)}</h2>"
                            "<p class=note>A guided tour: no graded exercises.</p>")
            continue
        share = 100 * chapter.passed / len(chapter.exercises)
        rows = "".join(
            f"<tr><td>{e(x.id)}</td><td>{e(x.title)}</td>"
            f'<td style="color:{COLOURS.get(x.last, "#1f2328")}">'
            f"{'✓ ' if x.passed else ''}{e(x.last)}</td><td>{e(x.measured)}</td></tr>"
            for x in chapter.exercises)
        sections.append(
            f"<h2>{e(chapter.number)} {e(chapter.title)} "
            f"<small>{chapter.passed}/{len(chapter.exercises)}</small></h2>"
            f'<div class=bar><div style="width:{share:.0f}%"></div></div>'
            f"<table><tr><th>exercise</th><th></th><th>last check</th><th>measured</th></tr>"
            f"{rows}</table>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Django Under Load: progress</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; max-width: 70em; color: #1f2328; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #d0d7de; padding: 3px 8px; text-align: left; }}
.bar {{ background: #eaeef2; height: 8px; width: 20em; border-radius: 4px; }}
.bar div {{ background: #1a7f37; height: 8px; border-radius: 4px; }}
.note {{ color: #57606a; }}
</style></head><body>
<h1>Django Under Load: {done}/{total} exercises passed</h1>
<p class=note>{e(time.strftime('%Y-%m-%d %H:%M'))}, Python {e(platform.python_version())},
{e(platform.system())}. From the checks recorded by <code>python3 -m course check</code>.</p>
{''.join(sections)}
</body></html>
"""


def write_html(lines: list[ChapterLine], path: Path | None = None) -> Path:
    path = path or DEFAULT_HTML
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_page(lines), encoding="utf-8")
    return path
