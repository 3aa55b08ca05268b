"""The grader reports humanely: syntax errors as one line, hangs as time-outs, others still graded."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from course import catalog, paths
from course.grading import grader

CATALOG = catalog.load()


@pytest.fixture
def starter_copy(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(paths.STARTER, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_untouched_starter_reads_as_not_attempted(starter_copy: Path) -> None:
    verdicts = grader.grade(list(CATALOG.chapter("01").exercises), CATALOG, target=starter_copy)
    assert [v.status for v in verdicts] == [grader.NOT_ATTEMPTED] * len(verdicts)


def test_syntax_error_is_one_line_and_others_are_still_graded(starter_copy: Path) -> None:
    (starter_copy / "shop" / "query_budget.py").write_text("def query_budget(:\n    pass\n")
    verdicts = {v.exercise.id: v for v in grader.grade(
        [CATALOG.exercise("01.1"), CATALOG.exercise("01.2")], CATALOG, target=starter_copy)}
    broken = verdicts["01.2"]
    assert broken.status == grader.ERROR
    assert broken.message.startswith("SyntaxError in shop/query_budget.py line 1")
    assert "\n" not in broken.message
    assert verdicts["01.1"].status == grader.NOT_ATTEMPTED


def test_a_syntax_error_the_project_loads_is_one_line_for_every_exercise_it_stops(
        starter_copy: Path) -> None:
    view = starter_copy / "shop" / "views" / "product_list.py"
    view.write_text(view.read_text().replace("def product_list(request):",
                                             "def product_list(request:"))
    toolbar, budget = grader.grade([CATALOG.exercise("01.1"), CATALOG.exercise("01.2")], CATALOG,
                                   target=starter_copy)
    assert toolbar.status == grader.ERROR
    assert toolbar.message.startswith("SyntaxError in shop/views/product_list.py line ")
    assert "the project cannot load" in toolbar.message and "\n" not in toolbar.message
    assert budget.status == grader.NOT_ATTEMPTED  # its own file is fine: graded as usual


LOOP = ("from contextlib import contextmanager\n\n\n"
        "@contextmanager\ndef query_budget(limit):\n    while True:\n        pass\n    yield\n")
SWALLOWING_LOOP = (
    "from contextlib import contextmanager\n\n\n"
    "@contextmanager\ndef query_budget(limit):\n    while True:\n        try:\n"
    "            sum(range(1000))\n        except BaseException:\n            pass\n"
    "    yield\n")


def test_an_endless_loop_times_out_and_grading_goes_on(starter_copy: Path) -> None:
    (starter_copy / "shop" / "query_budget.py").write_text(LOOP)
    verdicts = grader.grade(
        [CATALOG.exercise("01.2"), CATALOG.exercise("01.1")], CATALOG,
        target=starter_copy, time_limit=5,
    )
    assert verdicts[0].status == grader.TIMED_OUT
    # The dump catches the loop on its `while` line or on its `pass` line.
    assert re.match(r"timed out after 5 s \(still running at shop/query_budget\.py line [67], "
                    r"in query_budget\)", verdicts[0].message), verdicts[0].message
    assert verdicts[1].status == grader.NOT_ATTEMPTED


def test_a_loop_that_swallows_the_timeout_is_stopped_from_outside(starter_copy: Path) -> None:
    """``except:`` around a busy loop catches an in-process timeout: the limit must still
    hold, say where the code was, and leave the other exercises graded."""
    (starter_copy / "shop" / "query_budget.py").write_text(SWALLOWING_LOOP)
    started = time.monotonic()
    verdicts = grader.grade(
        [CATALOG.exercise("01.2"), CATALOG.exercise("01.1")], CATALOG,
        target=starter_copy, time_limit=3,
    )
    assert time.monotonic() - started < 60
    assert verdicts[0].status == grader.TIMED_OUT
    assert "still running at shop/query_budget.py line" in verdicts[0].message
    assert "stopped from outside" in verdicts[0].message
    assert verdicts[1].status == grader.NOT_ATTEMPTED


def test_an_exercise_with_a_limit_of_its_own_keeps_it(starter_copy: Path) -> None:
    """A grader with long work (13.4 runs a test suite five times) declares its own limit in
    the catalog: pytest-timeout and the message use it, and the others keep the check's."""
    import dataclasses

    (starter_copy / "shop" / "query_budget.py").write_text(LOOP)
    slow = dataclasses.replace(CATALOG.exercise("01.2"), time_limit=6)
    [verdict] = grader.grade([slow], CATALOG, target=starter_copy, time_limit=2)
    assert verdict.status == grader.TIMED_OUT
    assert verdict.message.startswith("timed out after 6 s"), verdict.message
    assert verdict.duration >= 5.5, verdict.duration  # the test itself ran that long


def test_a_limit_of_its_own_holds_from_outside_too(starter_copy: Path) -> None:
    import dataclasses

    (starter_copy / "shop" / "query_budget.py").write_text(SWALLOWING_LOOP)
    slow = dataclasses.replace(CATALOG.exercise("01.2"), time_limit=4)
    started = time.monotonic()
    [verdict, other] = grader.grade([slow, CATALOG.exercise("01.1")], CATALOG,
                                    target=starter_copy, time_limit=2)
    elapsed = time.monotonic() - started
    assert verdict.status == grader.TIMED_OUT and "stopped from outside" in verdict.message
    assert verdict.message.startswith("timed out after 4 s"), verdict.message
    assert 4 + 8 < elapsed < 60, elapsed  # its own limit and the grace period, not the check's
    assert other.status == grader.NOT_ATTEMPTED


@pytest.fixture
def before_chapter_05(tmp_path: Path) -> Path:
    from course.project import states

    target = tmp_path / "learner"
    shutil.copytree(states.reference_state(CATALOG, "04"), target,
                    ignore=shutil.ignore_patterns("__pycache__", ".course-state"))
    return target


def test_not_attempted_is_judged_by_the_exercises_own_code(before_chapter_05: Path) -> None:
    """A learner who solved earlier chapters their own way, in files 05.2 shares, has not
    started 05.2 while its TODO(05.2) comments are there."""
    view = before_chapter_05 / "shop" / "views" / "product_list.py"
    view.write_text(view.read_text().replace('.order_by("name")', '.order_by("name", "pk")')
                    + "\n# my own take on 02.3\n")
    middleware = before_chapter_05 / "shop" / "middleware.py"
    middleware.write_text(middleware.read_text() + "\n# tried something in chapter 01\n")
    assert grader.is_untouched(CATALOG.exercise("05.2"), before_chapter_05, CATALOG)

    lines = middleware.read_text().splitlines(keepends=True)
    middleware.write_text("".join(line for line in lines if "TODO(05.2)" not in line))
    assert not grader.is_untouched(CATALOG.exercise("05.2"), before_chapter_05, CATALOG)



def test_an_exercise_that_exists_on_one_database_is_graded_there(monkeypatch) -> None:
    """A check on SQLite grades 08.5 on PostgreSQL, in a pytest process of its own, and starts
    PostgreSQL for it; the other exercises stay on the database asked for."""
    from course import services

    started: list[str] = []
    runs: list[tuple[list[str], str | None]] = []
    monkeypatch.setattr(services, "up", lambda names, **kw: started.extend(names))

    def run_tests(node_ids, target, *, time_limit, database, longer=None):
        runs.append((node_ids, database))
        return {}, ""

    monkeypatch.setattr(grader, "run_tests", run_tests)
    exercises = [CATALOG.exercise("08.1"), CATALOG.exercise("08.5")]
    grader.grade(exercises, CATALOG, target=paths.STARTER, processes=1)
    assert "postgres" in started
    assert sorted(runs, key=str) == sorted([
        (list(CATALOG.exercise("08.1").tests), None),
        (list(CATALOG.exercise("08.5").tests), "postgres")], key=str)


def test_the_project_sees_the_tracker_and_the_replica_only_where_a_grader_passes_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from course import envfile
    from course.grading.slots import Slot

    learners = tmp_path / "env"
    replica = "postgres://shop:shop@127.0.0.1:5441/shop"
    envfile.update({"SENTRY_DSN": "http://key@127.0.0.1:8290/1", "REDIS_URL": "redis://x/0",
                    "DATABASE_REPLICA_URL": replica}, learners)
    monkeypatch.setattr(paths, "ENV_FILE", learners)
    monkeypatch.setenv("SENTRY_DSN", "http://exported@127.0.0.1:9/1")
    monkeypatch.setenv("DATABASE_REPLICA_URL", replica)
    env = grader.grading_env(tmp_path / "target", tmp_path / "run" / "results.json", None,
                             Slot(0))
    graders = envfile.read(Path(env["COURSE_ENV_FILE"]))
    assert "SENTRY_DSN" not in env and "SENTRY_DSN" not in graders
    assert graders["GRADING_SENTRY_DSN"] == "http://key@127.0.0.1:8290/1"
    assert "DATABASE_REPLICA_URL" not in env and "DATABASE_REPLICA_URL" not in graders
    assert graders["GRADING_REPLICA_URL"] == replica
    assert graders["REDIS_URL"] == "redis://x/0"


def test_graders_use_their_own_buckets_and_none_when_the_store_is_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from course import envfile
    from course.grading.slots import Slot
    from course.services.plugins import objectstore

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    learners = tmp_path / "env"
    envfile.update({"AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{listening.getsockname()[1]}",
                    "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
                    "AWS_STORAGE_BUCKET_NAME": objectstore.BUCKET,
                    "SHOP_REPORTS_BUCKET": objectstore.REPORTS_BUCKET}, learners)
    monkeypatch.setattr(paths, "ENV_FILE", learners)

    def graders() -> dict[str, str]:
        env = grader.grading_env(tmp_path / "target", tmp_path / "run" / "results.json", None,
                                 Slot(0))
        return envfile.read(Path(env["COURSE_ENV_FILE"]))

    up = graders()
    assert up["AWS_STORAGE_BUCKET_NAME"] == objectstore.GRADING_BUCKET
    assert up["SHOP_REPORTS_BUCKET"] == objectstore.GRADING_REPORTS_BUCKET
    listening.close()  # the store stopped: graded as a project without one
    assert not set(objectstore.PUBLISHED) & set(graders())
