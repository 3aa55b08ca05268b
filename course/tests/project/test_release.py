"""Repository hygiene that learners' resets depend on."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from course import paths
from course.project import states


def test_starter_changes_ship_with_a_course_update() -> None:
    """Learners' base commit follows commits to the course's own folders only.

    So the newest commit that changed starter_project/ must also be (or come
    before) a commit that changed one of those folders.
    """
    if not states.has_git():
        pytest.skip("not a git checkout")
    git = states._git
    starter = git("log", "-1", "--format=%H", "--", states.STARTER_DIR).stdout.decode().strip()
    course = git("log", "-1", "--format=%H", "--", *states.COURSE_OWNED).stdout.decode().strip()
    if not starter or not course:
        pytest.skip("shallow history")
    assert states._is_ancestor(starter, course), (
        "the last commit to starter_project/ touches none of "
        f"{', '.join(states.COURSE_OWNED)}: learners who pull it keep the old starter"
    )


def _commit(repo: Path, rel: str, text: str) -> str:
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_text(text)
    for command in (["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit",
                                    "-qm", text]):
        subprocess.run(["git", *command], cwd=repo, check=True, capture_output=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize("rewritten", [False, True])
def test_the_base_follows_course_updates_even_over_rewritten_history(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rewritten: bool) -> None:
    """The recorded base moves to the newest commit of the course's folders when that commit
    comes after it, or when the recorded one has left the history (a rewritten course); a
    learner's own commit to the starter never moves it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    first = _commit(repo, "course/a.py", "one")
    recorded = first
    if rewritten:  # a commit that later leaves the history
        recorded = _commit(repo, "course/a.py", "gone")
        subprocess.run(["git", "reset", "-q", "--hard", first], cwd=repo, check=True)
    update = _commit(repo, "course/a.py", "two")
    _commit(repo, "starter_project/shop.py", "the learner's work")
    base_file = tmp_path / "base"
    base_file.write_text(recorded + "\n")
    monkeypatch.setattr(paths, "ROOT", repo)
    monkeypatch.setattr(states, "BASE_FILE", base_file)
    states.base_commit.cache_clear()
    try:
        assert states.base_commit() == update
    finally:
        states.base_commit.cache_clear()
    assert base_file.read_text().strip() == update
