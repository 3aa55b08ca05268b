"""`course watch` checks the exercise at hand after each save, once the saves settle, never
two checks at once, and moves on when it passes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from course import catalog, paths
from course.grading import watch
from course.grading.grader import FAILED, PASSED, Verdict
from course.project import states


def _touch(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stat = path.stat()  # a later mtime even on a coarse clock
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))


def test_a_snapshot_sees_saves_and_leaves_out_caches_and_databases(tmp_path: Path) -> None:
    _touch(tmp_path / "shop" / "views.py", "a")
    before = watch.snapshot(tmp_path)
    _touch(tmp_path / "shop" / "__pycache__" / "views.cpython-311.pyc", "x")
    _touch(tmp_path / ".venv" / "lib" / "x.py", "x")
    _touch(tmp_path / "shop.sqlite3", "x")
    _touch(tmp_path / "shop" / ".#views.py", "x")
    assert watch.changed(before, watch.snapshot(tmp_path)) == []
    _touch(tmp_path / "shop" / "views.py", "b")
    _touch(tmp_path / "templates" / "page.html", "new")
    assert watch.changed(before, watch.snapshot(tmp_path)) == [
        os.path.join("shop", "views.py"), os.path.join("templates", "page.html")]


def test_the_queue_starts_at_the_exercise_at_hand() -> None:
    cat = catalog.load()
    chapter = [e.id for e in cat.select("02")]
    assert [e.id for e in watch.queue_for(cat, "02.3", set())] == chapter[2:]
    assert [e.id for e in watch.queue_for(cat, "02", {"02.1", "02.2"})] == chapter[2:]
    assert watch.queue_for(cat, None, {"01.1"})[0].id == cat.exercises[1].id
    assert watch.queue_for(cat, "02", set(chapter)) == []


class Learner:
    """Saves files on cue, in the gaps where the watcher sleeps, and answers checks."""

    def __init__(self, root: Path, saves_at_sleep: dict[int, str], outcomes: list[str],
                 save_during_check: int | None = None) -> None:
        self.root, self.saves, self.outcomes = root, saves_at_sleep, outcomes
        self.save_during_check = save_during_check
        self.sleeps = 0
        self.checked: list[str] = []
        self.at: list[int] = []  # how many polls had passed at each check
        self.running = False
        self.said: list[str] = []

    def sleep(self, _seconds: float) -> None:
        self.sleeps += 1
        if self.sleeps in self.saves:
            _touch(self.root / "shop" / "views.py", self.saves[self.sleeps])
        if self.sleeps > 500:
            raise AssertionError("the watcher waited for a save that never came")

    def check(self, exercise) -> Verdict:
        assert not self.running, "two checks at once"
        self.running = True
        self.checked.append(exercise.id)
        self.at.append(self.sleeps)
        if self.save_during_check == len(self.checked):
            _touch(self.root / "shop" / "views.py", f"saved during check {len(self.checked)}")
        status = self.outcomes[len(self.checked) - 1]
        self.running = False
        return Verdict(exercise, status)


def _watcher(tmp_path: Path, learner: Learner, ids: list[str]) -> watch.Watcher:
    cat = catalog.load()
    _touch(tmp_path / "shop" / "views.py", "start")
    return watch.Watcher(tmp_path, [cat.exercise(i) for i in ids], learner.check,
                         learner.said.append, poll=0.01, settle=0.025, sleep=learner.sleep)


def test_it_checks_at_once_then_after_each_save_and_moves_on_when_one_passes(
        tmp_path: Path) -> None:
    learner = Learner(tmp_path, {3: "try 1", 12: "try 2"}, [FAILED, FAILED, PASSED, PASSED])
    watcher = _watcher(tmp_path, learner, ["02.1", "02.2"])
    learner.saves[25] = "try 3"  # after 02.1 passes, a save for 02.2
    assert watcher.run() is True
    assert learner.checked == ["02.1", "02.1", "02.1", "02.2"]
    assert any(line.startswith("Next: 02.2") for line in learner.said)
    assert "everything watched" in learner.said[-1]


def test_saves_in_quick_succession_start_one_check(tmp_path: Path) -> None:
    # Three saves one poll apart, each before the files settle: one check for all of them,
    # three polls after the last; then a save much later, and its own check.
    learner = Learner(tmp_path, {2: "a", 3: "b", 4: "c", 40: "d"}, [FAILED] * 3)
    watcher = _watcher(tmp_path, learner, ["02.1"])
    assert watcher.run(max_checks=3) is False
    assert learner.at == [0, 4 + 3, 40 + 3]


def test_a_save_during_a_check_starts_one_more_check_after_it(tmp_path: Path) -> None:
    learner = Learner(tmp_path, {}, [FAILED, FAILED], save_during_check=1)
    watcher = _watcher(tmp_path, learner, ["02.1"])
    assert watcher.run(max_checks=2) is False
    assert learner.at == [0, 3]  # no save after the check was waited for: only the settling


def test_course_watch_moves_on_when_the_learner_solves_the_exercise(tmp_path: Path) -> None:
    """The real verb, on a copy of the starter: the learner saves the reference's view for
    02.1, and the watcher says it passes and names 02.2."""
    cat = catalog.load()
    project = tmp_path / "starter_project"
    shutil.copytree(states.reference_state(cat, "00"), project,
                    ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
    env.update(COURSE_VENV=sys.prefix, COURSE_STARTER=str(project),
               COURSE_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    watcher = subprocess.Popen([sys.executable, "-m", "course", "watch", "02.1"],
                               cwd=paths.ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(watcher.stdout.readline, "")),
                              daemon=True)
    reader.start()

    def wait_for(text: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in lines):
            assert watcher.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, f"no {text!r} in:\n{''.join(lines)}"
            time.sleep(0.1)

    try:
        wait_for("02.1 not attempted")
        solved = states.reference_state(cat, "02.1") / "shop" / "views" / "product_detail.py"
        shutil.copy(solved, project / "shop" / "views" / "product_detail.py")
        wait_for("02.1 passed")
        wait_for("Next: 02.2")
    finally:
        watcher.terminate()
        watcher.wait(10)
        # The checks started the services in this test's own home: nothing is left running.
        subprocess.run([sys.executable, "-m", "course", "services", "down"], cwd=paths.ROOT,
                       env=env, capture_output=True, check=False, timeout=120)
