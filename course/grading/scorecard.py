"""The production-readiness scorecard: every check of the course, chapter by chapter, with what
your last check of it said and measured, as one Markdown table you can share.

It reads what ``course check`` recorded (``.course/progress.toml`` and the ledger); it grades
nothing itself, so run ``python3 -m course check`` first for a scorecard of today's project.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from course import paths
from course.catalog import Catalog
from course.grading import progress

MARKS = {"passed": "✅ passes", "failed": "❌ fails", "not attempted": "· not attempted",
         "timed out": "⌛ timed out", "error": "❗ broken file"}
DEFAULT_PATH = paths.STATE / "reports" / "scorecard.md"


def _measured(entry: dict[str, Any] | None) -> tuple[str, str]:
    """What the last check measured, and its target, in a table cell each."""
    if not entry:
        return "", ""
    values, targets = [], []
    for item in entry.get("measured", []):
        unit = f" {item['unit']}" if item.get("unit") else ""
        values.append(f"{item.get('value')}{unit}")
        if item.get("target"):
            targets.append(str(item["target"]))
    return "; ".join(values), "; ".join(targets)


def rows(catalog: Catalog, passed: dict[str, str],
         latest: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, str]]:
    """One row per exercise: its chapter, its check, the last verdict on your project (and
    when it first passed, if it no longer does), what that check measured and its target."""
    found = []
    for chapter in catalog.chapters:
        for exercise in chapter.exercises:
            entry = latest.get((exercise.id, "starter"))
            status = MARKS.get(entry.get("status", ""), entry.get("status", "")) if entry \
                else "not checked yet"
            if exercise.id in passed and not (entry and entry.get("status") == "passed"):
                status += f" (passed on {passed[exercise.id][:10]})"
            value, target = _measured(entry)
            found.append({"chapter": f"{chapter.number} {chapter.title}",
                          "check": f"{exercise.id} {exercise.title}", "status": status,
                          "measured": value, "target": target,
                          "checked": (entry or {}).get("time", "")[:16].replace("T", " ")})
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(catalog: Catalog, passed: dict[str, str],
             latest: dict[tuple[str, str], dict[str, Any]]) -> str:
    """The scorecard: a line of totals, one row per chapter, then one row per check."""
    found = rows(catalog, passed, latest)
    passing = sum(row["status"].startswith(MARKS["passed"]) for row in found)
    lines = ["# Django Under Load: production-readiness scorecard", "",
             f"{time.strftime('%Y-%m-%d %H:%M')} · {passing} of {len(found)} checks pass on "
             "this project, as `python3 -m course check` last graded them.", "",
             "| chapter | checks passing |", "|---|---|"]
    for chapter in catalog.chapters:
        if chapter.exercises:
            mine = [row for row in found if row["chapter"].startswith(chapter.number + " ")]
            good = sum(row["status"].startswith(MARKS["passed"]) for row in mine)
            lines.append(f"| {chapter.number} {_cell(chapter.title)} | {good} of {len(mine)}"
                         f"{' ✅' if good == len(mine) else ''} |")
    lines += ["", "| check | last verdict | measured | target | checked |",
              "|---|---|---|---|---|"]
    for row in found:
        lines.append(f"| {_cell(row['check'])} | {_cell(row['status'])} | "
                     f"{_cell(row['measured'])} | {_cell(row['target'])} | {row['checked']} |")
    return "\n".join(lines) + "\n"


def write(catalog: Catalog, path: Path | None = None) -> tuple[Path, str]:
    """Write the scorecard of the learner's project to ``path`` (default
    ``.course/reports/scorecard.md``); returns the path and the text."""
    text = markdown(catalog, progress.load().passed,
                    progress.latest_measurements(progress.ledger_entries()))
    path = path or DEFAULT_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path, text
