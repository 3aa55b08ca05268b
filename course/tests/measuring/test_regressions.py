"""The regressed shops of 13.3 and 13.4: each change applies to the shop it is meant for, a
failing run is read back as one line per failing test, and a missing text is said."""

from __future__ import annotations

from pathlib import Path

import pytest

from course import catalog
from course.measuring import regressions, workflow
from course.project import states

UNITTEST_OUTPUT = """Found 3 test(s).
Creating test database for alias 'default'...
.F.E
======================================================================
ERROR: test_the_plan (shop.tests.test_performance.IndexTest.test_the_plan)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/x/shop/tests/test_performance.py", line 9, in test_the_plan
    plan = latest.explain()
django.db.utils.OperationalError: no such table: shop_order

======================================================================
FAIL: test_the_order_list (shop.tests.test_performance.QueryBudgetTest.test_the_order_list)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/x/shop/tests/test_performance.py", line 70, in test_the_order_list
    self.assertSameAtTwoSizes("the order list", count)
  File "/x/shop/tests/test_performance.py", line 43, in assertSameAtTwoSizes
    self.assertEqual(small, large, message)
AssertionError: 14 != 44 : the order list ran 14 queries for 10 rows and 44 for 40
SELECT 1

----------------------------------------------------------------------
Ran 4 tests in 0.512s

FAILED (failures=1, errors=1)
"""


def test_failing_tests_are_read_back_one_line_each() -> None:
    assert regressions._problems(UNITTEST_OUTPUT) == [
        "ERROR: test_the_plan: django.db.utils.OperationalError: no such table: shop_order",
        "FAIL: test_the_order_list: AssertionError: 14 != 44 : the order list ran 14 queries "
        "for 10 rows and 44 for 40",
    ]
    assert regressions._RAN.search(UNITTEST_OUTPUT).group(1) == "4"


def test_a_run_without_tests_has_not_passed() -> None:
    run = regressions.TestRun("the fixed shop", None, returncode=0, ran=0)
    assert not run.passed
    assert regressions.TestRun("x", None, returncode=0, ran=2).passed
    assert not regressions.TestRun("x", None, returncode=1, ran=2).passed


def test_a_regression_whose_text_is_gone_says_so(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "selectors.py").write_text("products = Product.objects.all()\n")
    with pytest.raises(regressions.RegressionDoesNotApply, match="catalogue-tags-one-by-one"):
        regressions.regressed(tmp_path, regressions.REGRESSIONS[0])


@pytest.mark.parametrize(("exercise", "changes"), [
    ("13.3", regressions.REGRESSIONS),  # the performance tests' regressions
    ("13.4", workflow.BROKEN),  # the CI workflow's breakages
])
def test_every_change_applies_to_the_shop_it_is_meant_for(
        tmp_path: Path, exercise: str, changes: tuple[regressions.Regression, ...]) -> None:
    courses = catalog.load()
    fixed = states.state_before(courses, courses.exercise(exercise))
    for change in changes:
        copy = regressions._copy(fixed, tmp_path / change.name)
        regressions.regressed(copy, change)
        for relative, text, _ in change.edits:
            assert text not in (copy / relative).read_text(), change.name
        for relative, _ in change.added:
            assert (copy / relative).is_file(), change.name


def test_a_written_migration_follows_the_newest_one(tmp_path: Path) -> None:
    lost = next(r for r in regressions.REGRESSIONS if r.added)
    relative, _ = lost.added[0]
    folder = tmp_path / Path(relative).parent
    folder.mkdir(parents=True)
    for name in ("0001_initial.py", "0010_later.py", "0002_more.py", "__init__.py"):
        (folder / name).write_text("")
    (tmp_path / "shop/models.py").write_text(lost.edits[0][1])
    regressions.regressed(tmp_path, lost)
    assert '("shop", "0010_later")' in (tmp_path / relative).read_text()
