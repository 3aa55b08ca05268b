"""The catalog is the single source: every entry points at things that exist, and back."""

from __future__ import annotations

import ast
import re

import pytest

from course import catalog, paths
from course.project import markers, states, steps

CATALOG = catalog.load()
EXERCISES = CATALOG.exercises
DOCS = "https://docs.djangoproject.com/en/5.2/"


def _test_functions(test_file: str) -> set[str]:
    tree = ast.parse((paths.EXERCISES_TESTS / test_file).read_text())
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_ids_are_unique_and_well_formed() -> None:
    ids = [ex.id for ex in EXERCISES]
    assert len(ids) == len(set(ids))
    for ex in EXERCISES:
        assert catalog.ID_PATTERN.match(ex.id), ex.id
        assert ex.id.startswith(ex.chapter_number + "."), ex.id


def test_chapters_are_numbered_in_order() -> None:
    numbers = [chapter.number for chapter in CATALOG.chapters]
    assert numbers == sorted(numbers) and len(numbers) == len(set(numbers))


@pytest.mark.parametrize("chapter", CATALOG.chapters, ids=lambda c: c.slug)
def test_chapter_has_notebook_and_lesson(chapter: catalog.Chapter) -> None:
    assert (paths.NOTEBOOKS / f"{chapter.slug}.ipynb").exists()
    assert (paths.LESSONS / f"{chapter.slug}.md").exists()
    if chapter.exercises:
        assert (paths.SOLUTIONS / chapter.slug).is_dir()
        assert (paths.EXERCISES_TESTS / f"test_{chapter.slug}.py").exists()


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_exercise_points_at_real_things(exercise: catalog.Exercise) -> None:
    assert exercise.title and exercise.files and exercise.tests
    for test in exercise.tests:
        test_file, _, name = test.partition("::")
        assert test_file == f"test_{exercise.chapter}.py", test
        assert name in _test_functions(test_file), f"{test} does not exist"
    for rel in exercise.files:
        assert (paths.STARTER / rel).exists(), f"starter_project/{rel} does not exist"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_hints_are_progressive_and_end_on_the_docs(exercise: catalog.Exercise) -> None:
    assert len(exercise.hints) >= 2
    assert DOCS in exercise.hints[-1], "the last hint links the exact Django docs section"
    assert re.search(r"#[\w-]+", exercise.hints[-1].split(DOCS)[-1]), "link a section (#anchor)"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_markers_in_starter_and_not_in_reference(exercise: catalog.Exercise) -> None:
    """A marker in every file that is the exercise's alone; a file several exercises edit
    (``shop/apps.py``) may carry only some of theirs, as "not attempted" ignores it."""
    marker = f"TODO({exercise.id})"
    shared = {rel for other in EXERCISES if other.id != exercise.id for rel in other.files}
    marked = [rel for rel in exercise.files if marker in (paths.STARTER / rel).read_text()]
    assert marked, f"no {marker} in the starter"
    for rel in exercise.files:
        assert rel in marked or rel in shared, f"no {marker} in starter {rel}"
    final = states.reference_state(CATALOG, states.final_chapter(CATALOG))
    for path in final.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".html", ".txt", ".css", ".js", ".template"):
            assert marker not in path.read_text(), f"{marker} left in the reference {path}"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_a_step_removes_its_own_markers_and_no_other(exercise: catalog.Exercise) -> None:
    """Each exercise's step is its change alone: it takes away its markers, never another's."""
    step = steps.Step(exercise)
    assert step.path.exists(), f"no reference step {step.path.relative_to(paths.ROOT)}"
    removed = {m for p in step.file_patches() for h in p.hunks for line in h.lines
               if line.startswith("-") for m in markers.MARKER.findall(line)}
    added = {m for p in step.file_patches() for h in p.hunks for line in h.lines
             if line.startswith("+") for m in markers.MARKER.findall(line)}
    assert removed - added == {exercise.id} and not added - removed, (
        f"{step.path.name} removes markers {sorted(removed)} and adds {sorted(added)}")


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_a_step_edits_only_its_exercises_files(exercise: catalog.Exercise) -> None:
    for file_patch in steps.Step(exercise).file_patches():
        if file_patch.old_path is not None and "/migrations/" not in file_patch.path:
            assert file_patch.path in exercise.files, (
                f"{exercise.id}'s step edits {file_patch.path}, which its catalog entry does "
                "not list (a learner's reset and 'not attempted' would miss it)")


def test_every_grader_is_in_the_catalog() -> None:
    graded = {test.split("::")[1] for ex in EXERCISES for test in ex.tests}
    for test_file in paths.EXERCISES_TESTS.glob("test_*.py"):
        orphans = _test_functions(test_file.name) - graded
        assert not orphans, f"{test_file.name} has graders no exercise uses: {orphans}"


def test_every_file_under_solutions_is_a_step_of_an_exercise() -> None:
    known = {steps.Step(ex).path for ex in EXERCISES}
    for path in paths.SOLUTIONS.rglob("*"):
        if path.is_file() and path.name != "README.md":
            assert path in known, f"{path.relative_to(paths.ROOT)} is no exercise's step"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_every_exercise_file_changes_in_its_step(exercise: catalog.Exercise) -> None:
    touched = steps.Step(exercise).files()
    for rel in exercise.files:
        assert rel in touched, f"{exercise.id}: its step does not change {rel}"


def test_an_exercise_on_one_database_only_is_graded_there() -> None:
    found = catalog.parse("""
[[chapter]]
slug = "08_app_servers"
title = "App servers"

[[chapter.exercise]]
id = "08.5"
title = "Connections"
database = "postgres"

[[chapter.exercise]]
id = "08.1"
title = "Anywhere"
""")
    only, anywhere = found.exercise("08.5"), found.exercise("08.1")
    assert [only.graded_on(asked) for asked in (None, "sqlite", "postgres")] == ["postgres"] * 3
    assert [anywhere.graded_on(asked) for asked in (None, "sqlite", "postgres")] == \
        [None, None, "postgres"]
    assert not only.runs_on(None) and not only.runs_on("sqlite") and only.runs_on("postgres")
    assert anywhere.runs_on(None) and anywhere.runs_on("postgres")
    with pytest.raises(catalog.CatalogError, match="database must be one of"):
        catalog.parse('[[chapter]]\nslug = "08_x"\ntitle = "x"\n[[chapter.exercise]]\n'
                      'id = "08.9"\ntitle = "x"\ndatabase = "mysql"\n')


def test_an_exercise_adds_services_for_itself_only() -> None:
    found = catalog.parse("""
[[chapter]]
slug = "10_monitoring"
title = "Monitoring"
services = ["worker"]

[[chapter.exercise]]
id = "10.1"
title = "Metrics"

[[chapter.exercise]]
id = "10.7"
title = "Errors"
services = ["errortracker", "worker"]
""")
    metrics, errors = found.exercise("10.1"), found.exercise("10.7")
    assert found.services_for([metrics]) == ["worker"]
    assert found.services_for([errors]) == ["worker", "errortracker"]
    assert found.services_for([metrics, errors]) == ["worker", "errortracker"]
    assert found.chapter("10").all_services == ("worker", "errortracker")


def test_an_exercise_with_long_work_has_a_limit_of_its_own() -> None:
    from course.grading import grader

    found = catalog.parse('[[chapter]]\nslug = "13_x"\ntitle = "x"\n[[chapter.exercise]]\n'
                          'id = "13.4"\ntitle = "x"\ntime_limit = 300\n[[chapter.exercise]]\n'
                          'id = "13.1"\ntitle = "y"\n')
    long, short = found.exercise("13.4"), found.exercise("13.1")
    assert (grader.limit_for(long, 90), grader.limit_for(short, 90)) == (300, 90)
    assert grader.limit_for(long, 600) == 600  # a check that allows more keeps its own
