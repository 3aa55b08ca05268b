"""Unified diffs: written from two versions of a file, read back, and applied exactly.

The course stores each exercise's reference solution as a unified diff
against the state before it (``solutions/NN_topic/NN.M.diff``), in the form
``git diff`` prints, with paths relative to ``starter_project/``. Applying is
strict: every context and removed line must match; a hunk may sit at another
line than it says (the starter grew above it), never fuzzily. A diff that
does not apply raises :class:`PatchError` naming the file and the hunk.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

NO_NEWLINE = "\\ No newline at end of file"
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(Exception):
    """A diff that cannot be read or does not apply; the message says where."""


@dataclass
class Hunk:
    old_start: int  # 1-based line in the old file (0 when the old file is empty)
    old_count: int
    new_start: int
    new_count: int
    lines: list[str] = field(default_factory=list)  # " x", "-x", "+x" (ending "\n" or not)

    def old_lines(self) -> list[str]:
        return [line[1:] for line in self.lines if line[0] in " -"]

    def new_lines(self) -> list[str]:
        return [line[1:] for line in self.lines if line[0] in " +"]


@dataclass
class FilePatch:
    old_path: str | None  # None: the file is new
    new_path: str | None  # None: the file is deleted
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    def changed_lines(self) -> int:
        return sum(line[0] in "+-" for hunk in self.hunks for line in hunk.lines)


def _split(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def diff(relative: str, old: str | None, new: str | None, context: int = 3) -> str:
    """The unified diff turning ``old`` into ``new`` (None: absent), as ``git diff`` writes it."""
    if old == new:
        return ""
    before, after = _split(old or ""), _split(new or "")
    lines = [f"diff --git a/{relative} b/{relative}\n"]
    if old is None:
        lines.append("new file mode 100644\n")
    elif new is None:
        lines.append("deleted file mode 100644\n")
    lines.append("--- /dev/null\n" if old is None else f"--- a/{relative}\n")
    lines.append("+++ /dev/null\n" if new is None else f"+++ b/{relative}\n")
    for line in list(difflib.unified_diff(before, after, n=context))[2:]:
        if line.startswith("@@"):
            lines.append(line if line.endswith("\n") else line + "\n")
        elif line.endswith("\n"):
            lines.append(line)
        else:  # the file's last line has no newline
            lines.append(line + "\n" + NO_NEWLINE + "\n")
    return "".join(lines)


def _path(header: str) -> str | None:
    name = header[4:].rstrip("\n").split("\t")[0]
    if name == "/dev/null":
        return None
    return name[2:] if name[:2] in ("a/", "b/") else name


def parse(text: str, source: str = "diff") -> list[FilePatch]:
    """Every file's changes in a unified diff."""
    patches: list[FilePatch] = []
    lines = _split(text)
    index = 0
    current: FilePatch | None = None
    while index < len(lines):
        line = lines[index]
        if line.startswith("--- ") and index + 1 < len(lines) and \
                lines[index + 1].startswith("+++ "):
            current = FilePatch(_path(line), _path(lines[index + 1]))
            patches.append(current)
            index += 2
            continue
        match = _HUNK.match(line)
        if match:
            if current is None:
                raise PatchError(f"{source}: a hunk before any file header (line {index + 1})")
            old_start, old_count, new_start, new_count = (
                int(match.group(1)), int(match.group(2) or 1),
                int(match.group(3)), int(match.group(4) or 1))
            hunk = Hunk(old_start, old_count, new_start, new_count)
            index += 1
            seen_old = seen_new = 0
            while index < len(lines) and (seen_old < old_count or seen_new < new_count or
                                          lines[index].startswith(NO_NEWLINE)):
                body = lines[index]
                if body.startswith(NO_NEWLINE):
                    hunk.lines[-1] = hunk.lines[-1].rstrip("\n")
                elif body[:1] in (" ", "-", "+") or body == "\n":
                    body = body if body != "\n" else " \n"
                    hunk.lines.append(body)
                    seen_old += body[0] in " -"
                    seen_new += body[0] in " +"
                else:
                    raise PatchError(f"{source}: unexpected line {index + 1}: {body!r}")
                index += 1
            current.hunks.append(hunk)
            continue
        index += 1  # "diff --git", "index", "new file mode" and other header lines
    return patches


def _find(haystack: list[str], needle: list[str], expected: int) -> int | None:
    """Where ``needle`` occurs in ``haystack``: at ``expected`` if it does, else the nearest."""
    if not needle:
        return min(max(expected, 0), len(haystack))
    spots = [start for start in range(len(haystack) - len(needle) + 1)
             if haystack[start:start + len(needle)] == needle]
    if not spots:
        return None
    return min(spots, key=lambda start: (abs(start - expected), start))


def apply(patch: FilePatch, old: str | None, source: str = "diff") -> str | None:
    """The file after ``patch``; None when the patch deletes it."""
    if patch.old_path is None and old is not None:
        raise PatchError(f"{source}: {patch.path} should be new, but it exists already")
    if patch.old_path is not None and old is None:
        raise PatchError(f"{source}: {patch.path} does not exist")
    if patch.new_path is None:
        return None
    lines = _split(old or "")
    shift = 0  # how far this file's lines now sit from the numbers in the diff
    for number, hunk in enumerate(patch.hunks, start=1):
        wanted = hunk.old_lines()
        claimed = hunk.old_start - 1 if hunk.old_count else hunk.old_start
        at = _find(lines, wanted, claimed + shift)
        if at is None:
            raise PatchError(
                f"{source}: hunk {number} of {patch.path} (line {hunk.old_start}) does not "
                "match the file: the starter changed there")
        replacement = hunk.new_lines()
        lines[at:at + len(wanted)] = replacement
        shift = at - claimed + len(replacement) - len(wanted)
    return "".join(lines)


def render(patches: list[FilePatch]) -> str:
    """The patches as diff text again (for showing part of a diff)."""
    out = []
    for patch in patches:
        out.append("--- /dev/null\n" if patch.old_path is None else f"--- a/{patch.old_path}\n")
        out.append("+++ /dev/null\n" if patch.new_path is None else f"+++ b/{patch.new_path}\n")
        for hunk in patch.hunks:
            out.append(f"@@ -{hunk.old_start},{hunk.old_count} "
                       f"+{hunk.new_start},{hunk.new_count} @@\n")
            for line in hunk.lines:
                out.append(line if line.endswith("\n") else line + "\n" + NO_NEWLINE + "\n")
    return "".join(out)
