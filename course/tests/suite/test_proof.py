"""The proof grades each state once and asks of every exercise what the design demands."""

from __future__ import annotations

from collections import Counter

from course import catalog
from course.suite import proof

CATALOG = catalog.load()


def test_every_exercise_fails_before_and_passes_after_its_chapter_and_at_the_end() -> None:
    runs = proof.plan()
    asked = Counter()
    for state, expectations in runs:
        for x in expectations:
            asked[(x.exercise.id, x.passes, x.why.split()[0])] += 1
            if not x.passes:
                assert x.why == f"before chapter {x.exercise.chapter_number}"
                assert state < x.exercise.chapter_number
    for exercise in CATALOG.exercises:
        assert asked[(exercise.id, False, "before")] == 1, exercise.id
        passes = asked[(exercise.id, True, "after")] + asked[(exercise.id, True, "on")]
        assert passes == (1 if exercise.chapter_number == runs[-1][0] else 2), exercise.id


def test_each_state_is_graded_once_in_order() -> None:
    states = [state for state, _ in proof.plan()]
    graded = [c.number for c in CATALOG.chapters if c.exercises]
    assert states == ["00", *graded]
    final = proof.plan()[-1][1]
    assert {x.exercise.id for x in final} == {e.id for e in CATALOG.exercises}
