"""The ``TODO(NN.M)`` markers in the starter: where each exercise's work goes.

Every spot a learner is meant to edit carries one, a comment naming the
exercise. A marker's *block* is its comment line and the comment lines that
continue it. A block still present, word for word, in the learner's file says
that exercise has not been started there, even when the file holds other
exercises' work.
"""

from __future__ import annotations

import re

MARKER = re.compile(r"TODO\((\d{2}\.\d+)\)")
_COMMENT = re.compile(r"^\s*(#|\{#)")


def blocks(text: str) -> dict[str, list[list[str]]]:
    """Each exercise's marker blocks in ``text``: lists of stripped comment lines."""
    lines = text.splitlines()
    found: dict[str, list[list[str]]] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        ids = MARKER.findall(line)
        if not ids or not _COMMENT.match(line):
            index += 1
            continue
        block = [line.strip()]
        index += 1
        while index < len(lines) and _COMMENT.match(lines[index]) and \
                not MARKER.search(lines[index]) and lines[index].strip() not in ("#", ""):
            block.append(lines[index].strip())
            index += 1
        for exercise_id in ids:
            found.setdefault(exercise_id, []).append(block)
    return found


def intact(exercise_id: str, shipped: str, current: str) -> bool:
    """Whether every marker block of ``exercise_id`` in ``shipped`` is still in ``current``,
    line after line. False when ``shipped`` has no marker for it."""
    wanted = blocks(shipped).get(exercise_id)
    if not wanted:
        return False
    stripped = [line.strip() for line in current.splitlines()]
    for block in wanted:
        if not any(stripped[start:start + len(block)] == block
                   for start in range(len(stripped) - len(block) + 1)):
            return False
    return True
