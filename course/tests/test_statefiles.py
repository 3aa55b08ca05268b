"""Builds kept for reuse: made once, the oldest pruned, but never one still in use."""

from __future__ import annotations

import os
import time
from pathlib import Path

from course import statefiles


def _build(path: Path) -> None:
    path.mkdir()
    (path / "manifest.json").write_text("{}")


def test_built_once_and_reused(tmp_path: Path) -> None:
    calls = []

    def build(path: Path) -> None:
        calls.append(path)
        _build(path)

    first = statefiles.kept(tmp_path, "a", build)
    again = statefiles.kept(tmp_path, "a", build)
    assert first == again == tmp_path / "a" and len(calls) == 1


def test_entries_used_lately_are_never_pruned(tmp_path: Path) -> None:
    held = statefiles.kept(tmp_path, "held", _build, keep=2)  # a grading run reads it …
    for name in "bcdef":  # … while another builds more than `keep` newer ones
        statefiles.kept(tmp_path, name, _build, keep=2)
    assert (held / "manifest.json").exists()


def test_old_entries_beyond_keep_are_pruned(tmp_path: Path) -> None:
    long_ago = time.time() - statefiles.IN_USE_SECONDS - 60
    for age, name in enumerate("cba"):  # a the oldest
        statefiles.kept(tmp_path, name, _build, keep=2)
        os.utime(tmp_path / name, (long_ago - age, long_ago - age))
    statefiles.kept(tmp_path, "d", _build, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "c", "d"]
