"""The learner's progress and measurement ledger, under ``.course/``.

``progress.toml`` is small and plain: which exercises passed and how many
hints were shown. Copy it to another machine's ``.course/`` to carry progress
over. ``ledger.jsonl`` appends what each check measured, so the learner's
own numbers can be shown next to the starter's and the reference's.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course import paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HEADER = (
    "# Django Under Load progress. Plain text: copy it to .course/ on another machine\n"
    "# to carry your progress over.\n"
)


@dataclass
class Progress:
    passed: dict[str, str] = field(default_factory=dict)  # id -> ISO time first passed
    hints_shown: dict[str, int] = field(default_factory=dict)

    def to_toml(self) -> str:
        lines = [HEADER, "[passed]"]
        lines += [f'"{key}" = "{value}"' for key, value in sorted(self.passed.items())]
        lines += ["", "[hints_shown]"]
        lines += [f'"{key}" = {value}' for key, value in sorted(self.hints_shown.items())]
        return "\n".join(lines) + "\n"


def load(path: Path | None = None) -> Progress:
    path = path or paths.PROGRESS_FILE
    if not path.exists():
        return Progress()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        broken = path.with_suffix(".broken")
        path.replace(broken)
        print(f"course: {path} was not readable; kept it as {broken} and started afresh")
        return Progress()
    return Progress(
        passed={str(k): str(v) for k, v in data.get("passed", {}).items()},
        hints_shown={str(k): int(v) for k, v in data.get("hints_shown", {}).items()},
    )


def save(progress: Progress, path: Path | None = None) -> None:
    path = path or paths.PROGRESS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(progress.to_toml(), encoding="utf-8")
    tmp.replace(path)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def record_verdicts(verdicts: list[Any], target_label: str) -> None:
    """Mark passed exercises (for the learner's own project) and append to the ledger."""
    if target_label == "starter":
        progress = load()
        for verdict in verdicts:
            if verdict.passed:
                progress.passed.setdefault(verdict.exercise.id, now())
        save(progress)
    paths.LEDGER.parent.mkdir(parents=True, exist_ok=True)
    with open(paths.LEDGER, "a", encoding="utf-8") as ledger:
        for verdict in verdicts:
            ledger.write(
                json.dumps(
                    {
                        "time": now(),
                        "target": target_label,
                        "exercise": verdict.exercise.id,
                        "status": verdict.status,
                        "measured": verdict.measured,
                    }
                )
                + "\n"
            )


def next_hint_index(exercise_id: str, total: int) -> int:
    """Index of the hint to show now (advancing, then staying on the last)."""
    progress = load()
    shown = progress.hints_shown.get(exercise_id, 0)
    index = min(shown, total - 1)
    progress.hints_shown[exercise_id] = min(shown + 1, total)
    save(progress)
    return index


def ledger_entries(path: Path | None = None) -> list[dict[str, Any]]:
    path = path or paths.LEDGER
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def latest_measurements(entries: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The newest ledger entry per (exercise, target)."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        latest[(entry.get("exercise", ""), entry.get("target", ""))] = entry
    return latest


def checked_exercises(entries: list[dict[str, Any]] | None = None) -> set[str]:
    """Exercises the learner has checked with a result other than "not attempted"."""
    latest = latest_measurements(ledger_entries() if entries is None else entries)
    return {exercise for (exercise, target), entry in latest.items()
            if target == "starter" and entry.get("status") not in (None, "not attempted")}


def measured_summary(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "not checked yet"
    parts = [f"{m.get('value')}{' ' + m['unit'] if m.get('unit') else ''}"
             for m in entry.get("measured", [])]
    return f"{entry.get('status')}" + (f": {'; '.join(parts)}" if parts else "")
