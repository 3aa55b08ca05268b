"""Run a pytest process under a time limit enforced from outside it.

An in-process timeout raises an exception in the test, and a learner's ``except:``
around a busy loop swallows it: the test never ends. So the grading process watches
the test that is running (the plugin writes it down, see ``pytest_plugin``); when one
outlives its limit by a grace period, the whole process group is killed, that test is
recorded as timed out — with where it was stuck, from the plugin's faulthandler dump —
and pytest starts again on the tests that have not run yet.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

GRACE = 8.0  # seconds past the limit: the in-process timeout gets the first chance
POLL = 0.2


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


LIMITS_VARIABLE = "COURSE_TIME_LIMITS"  # JSON: node id -> seconds, for the longer tests


def limit_in(limits: dict[str, int], node_id: str) -> int | None:
    """``node_id``'s own limit in ``limits`` (pytest may key it with a longer path)."""
    return limits.get(node_id) or next(
        (value for key, value in limits.items() if node_id.endswith(key)), None)


def result_for(node_id: str, results: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The result recorded for ``node_id`` (pytest may key it with a longer path)."""
    return results.get(node_id) or next(
        (value for key, value in results.items() if key.endswith(node_id)), None)


def run_watched(
    command: Callable[[list[str]], list[str]],
    node_ids: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    results: Path,
    time_limit: float,
    target: str,
    longer: dict[str, int] | None = None,
) -> tuple[dict[str, dict[str, Any]], str]:
    """Run ``command(node_ids)`` until every node id has a result or was stopped.

    Each test may take ``time_limit`` seconds, or its own in ``longer`` (node id: seconds).
    Returns the merged per-node results and the processes' output; a stopped test says
    where it was stuck in the project at ``target``.
    """
    longer = longer or {}
    env = {**env, "COURSE_TIME_LIMIT": str(int(time_limit)),
           LIMITS_VARIABLE: json.dumps(longer)}

    def limit_of(node_id: str) -> float:
        return float(limit_in(longer, node_id) or time_limit)

    merged: dict[str, dict[str, Any]] = {}
    outputs: list[str] = []
    remaining = list(node_ids)
    running_file = Path(f"{results}.running")
    stacks_file = Path(f"{results}.stacks")
    while remaining:
        for stale in (results, running_file, stacks_file):
            stale.unlink(missing_ok=True)
        log = results.with_suffix(".log")
        with open(log, "w", encoding="utf-8") as out:
            process = subprocess.Popen(command(remaining), cwd=cwd, env=env, stdout=out,
                                       stderr=subprocess.STDOUT, text=True,
                                       start_new_session=True)
            stopped: str | None = None
            deadline = time.monotonic() + sum(limit_of(n) + GRACE for n in remaining) + 120
            while process.poll() is None:
                time.sleep(POLL)
                if time.monotonic() > deadline:  # stuck outside any test (collection, set-up)
                    _kill_group(process)
                    out.write("\ngrading stopped: stuck outside any test (collection or set-up)\n")
                    break
                running = _read_json(running_file)
                started = running.get("started")
                running_id = str(running.get("nodeid", ""))
                if started and time.time() - float(started) > limit_of(running_id) + GRACE:
                    stopped = running_id
                    _kill_group(process)
        outputs.append(log.read_text(encoding="utf-8", errors="replace"))
        found = _read_json(results)
        merged.update(found)
        if stopped:
            where = stuck_at(stacks_file.read_text(encoding="utf-8", errors="replace")
                             if stacks_file.exists() else "", target)
            merged[stopped] = {
                "outcome": "timeout",
                "message": f"timed out after {int(limit_of(stopped))} s"
                           + (f" (still running {where})" if where else "")
                           + ": the test was stopped from outside, so it does not matter "
                             "what the code catches",
                "measured": [], "duration": limit_of(stopped),
            }
        done = [n for n in remaining if result_for(n, merged) is not None]
        if not stopped or not done:
            break  # finished, or crashed before a test ended: report what there is
        remaining = [n for n in remaining if n not in done]
    return merged, "\n".join(outputs)


def stuck_at(stacks: str, target: str) -> str:
    """Where a stuck test was, from a faulthandler dump: the innermost frame in the project
    under test ("shop/query_budget.py line 7, in query_budget"), or "" when none is."""
    root = target.rstrip("/") + "/"
    for line in stacks.splitlines():  # innermost frame first, thread after thread
        line = line.strip()
        if not line.startswith('File "'):
            continue
        path, _, rest = line[len('File "'):].partition('"')
        if target and path.startswith(root):
            number = rest.split("line", 1)[-1].strip()
            lineno, _, function = number.partition(" in ")
            return f"at {path[len(root):]} line {lineno.strip()}" + (
                f", in {function.strip()}" if function.strip() else "")
    return ""
