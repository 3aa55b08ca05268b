"""The proof grades each state once and asks of every exercise what the design demands."""

from __future__ import annotations

from collections import Counter

from course import catalog
from course.suite import proof

CATALOG = catalog.load()


def test_every_exercise_fails_before_and_passes_after_its_chapter_and_at_the_end() -> None:
    """On each database, for every exercise that exists there (one that exists on PostgreSQL
    only is proved on PostgreSQL, and left out on SQLite)."""
    for database in (None, "postgres"):
        runs = proof.plan(database)
        asked = Counter()
        for state, expectations in runs:
            for x in expectations:
                asked[(x.exercise.id, x.passes, x.why.split()[0])] += 1
                if not x.passes:
                    assert x.why == f"before chapter {x.exercise.chapter_number}"
                    assert state < x.exercise.chapter_number
        for exercise in CATALOG.exercises:
            if not exercise.runs_on(database):
                assert not any(key[0] == exercise.id for key in asked), exercise.id
                continue
            assert asked[(exercise.id, False, "before")] == 1, exercise.id
            passes = asked[(exercise.id, True, "after")] + asked[(exercise.id, True, "on")]
            assert passes == (1 if exercise.chapter_number == runs[-1][0] else 2), exercise.id


def test_each_state_is_graded_once_in_order() -> None:
    states = [state for state, _ in proof.plan()]
    graded = [c.number for c in CATALOG.chapters if c.exercises]
    assert states == ["00", *graded]
    final = proof.plan("postgres")[-1][1]
    only_postgres = {e.id for e in CATALOG.exercises if e.database == "postgres"}
    only_sqlite = {e.id for e in CATALOG.exercises if e.database == "sqlite"}
    assert "08.5" in only_postgres, "08.5 exists on PostgreSQL only"
    assert "13.3" in only_sqlite, "13.3's grader runs the learner's tests on SQLite only"
    assert {x.exercise.id for x in final} == {e.id for e in CATALOG.exercises} - only_sqlite
    assert {x.exercise.id for x in proof.plan()[-1][1]} == \
        {e.id for e in CATALOG.exercises} - only_postgres


def test_the_capstone_is_proved_on_each_partial_solution() -> None:
    """After 14.1, 14.2 and 14.3: what is solved passes, what is left out fails."""
    [chapter] = [c for c in CATALOG.chapters if c.step_by_step]
    runs = dict(proof.partial_plan())
    assert list(runs) == [e.id for e in chapter.exercises[:-1]]
    for index, done in enumerate(chapter.exercises[:-1]):
        verdicts = [(x.exercise.id, x.passes) for x in runs[done.id]]
        assert verdicts == [(e.id, position <= index)
                            for position, e in enumerate(chapter.exercises)]


def test_on_sqlite_the_final_state_is_left_to_the_exercises_graded_alone() -> None:
    """``proof`` on SQLite grades every exercise alone on the final state (``prove_alone``),
    so its run of the final state asks only about the last chapter; PostgreSQL's asks all."""
    last = proof.plan()[-1][0]
    final = proof.plan(together=False)[-1][1]
    assert final and {x.exercise.chapter_number for x in final} == {last}
    assert proof.plan(together=False)[:-1] == proof.plan()[:-1]


def test_a_wrong_solution_must_be_rejected_for_the_right_reason(monkeypatch) -> None:
    """Passing it, or failing it with another message, breaks the proof."""
    from course.grading import grader
    from course.project import states, steps

    wrong = steps.wrong_solutions(CATALOG)[0]
    monkeypatch.setattr(proof, "plan", lambda: [])
    monkeypatch.setattr(steps, "wrong_solutions", lambda catalog: [wrong])
    monkeypatch.setattr(states, "wrong_state", lambda catalog, w: w.path.parent)
    for status, message, holds in ((grader.PASSED, "", False),
                                   (grader.FAILED, "some other reason", False),
                                   (grader.FAILED, f"so: {wrong.rejected_with}! [hint {wrong.hint}]", True)):
        monkeypatch.setattr(grader, "grade", lambda exercises, catalog, status=status,
                            message=message, **kw: [
            grader.Verdict(exercises[0], status, message)])
        held, broken = proof.prove_wrong(None, lambda line: None)
        assert (held, len(broken)) == ((1, 0) if holds else (0, 1)), (status, message)
    monkeypatch.setattr(grader, "grade", lambda exercises, catalog, **kw: [
        grader.Verdict(exercises[0], grader.FAILED, f"{wrong.rejected_with} [hint 3]")])
    held, broken = proof.prove_wrong(None, lambda line: None)
    assert (held, len(broken)) == ((1, 0) if wrong.hint == 3 else (0, 1)), "hint ignored"


def test_wrong_solutions_are_batched_one_per_exercise_and_chapter(tmp_path) -> None:
    from course.project import steps

    def fixture(name: str) -> steps.Wrong:
        return steps.Wrong(tmp_path / f"{name}.diff", CATALOG.exercise(name.split("-")[0]))

    found = proof.batches([fixture(n) for n in ("02.1-a", "02.1-b", "02.1-c", "02.4-a",
                                                "02.4-b", "05.2-a")])
    named = [[w.path.stem for w in batch] for batch in found]
    assert named == [["02.1-a", "02.4-a"], ["02.1-b", "02.4-b"], ["02.1-c"], ["05.2-a"]]


def test_postgres_proves_the_wrong_solutions_of_database_bound_chapters(monkeypatch) -> None:
    """SQLite grades every wrong solution but those of the exercises that exist on PostgreSQL
    only; PostgreSQL grades those, and the ones whose chapter's graders measure the database
    (unless a maintainer names others)."""
    from course.grading import grader
    from course.project import steps

    every = steps.wrong_solutions(CATALOG)
    bound = {c.number for c in CATALOG.chapters if c.database_bound}
    assert {"02", "03"} <= bound and "07" not in bound
    graded: dict[str | None, list[str]] = {}

    def grade(exercises, catalog, *, database=None, **kw):
        graded.setdefault(database, []).extend(e.id for e in exercises)
        return [grader.Verdict(e, grader.PASSED, "") for e in exercises]

    monkeypatch.setattr(grader, "grade", grade)
    monkeypatch.setattr(proof.states, "wrong_batch_state", lambda catalog, batch: None)
    monkeypatch.setattr(proof.states, "wrong_state", lambda catalog, wrong: wrong.path.parent)
    for database in (None, "postgres"):
        proof.prove_wrong(database, lambda line: None)
    assert sorted(graded[None]) == sorted(w.exercise.id for w in every
                                          if w.exercise.runs_on(None))
    assert sorted(graded["postgres"]) == sorted(
        w.exercise.id for w in every if w.exercise.runs_on("postgres")
        and (w.exercise.chapter_number in bound or w.exercise.database == "postgres"))
    assert "13.3" in graded[None] and "13.3" not in graded["postgres"]
    assert "08.5" in graded["postgres"] and "08.5" not in graded[None]
    graded.clear()
    proof.prove_wrong("postgres", lambda line: None, ["07.1"])
    assert set(graded["postgres"]) == {"07.1"}
