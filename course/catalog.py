"""The exercise catalog: ``exercises_tests/catalog.toml``, the one place exercises are declared."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from course import paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

ID_PATTERN = re.compile(r"^\d{2}\.\d+$")
CHAPTER_PATTERN = re.compile(r"^\d{2}$")


class CatalogError(Exception):
    """A bad exercise id or chapter, with a message for humans."""


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    chapter: str  # e.g. "01_measure_first"
    files: tuple[str, ...]
    tests: tuple[str, ...]
    hints: tuple[str, ...]
    docs: str = ""
    target: str = ""  # what the grader measures, in words
    # The one database the exercise exists on ("postgres", or "sqlite" for a grader that runs
    # the learner's code on SQLite whatever the course uses), or "" for every database: such
    # an exercise is graded there whatever database a check asks for.
    database: str = ""
    # Services its grader needs beyond its chapter's (names of plug-ins in
    # course/services/plugins/): a heavy one only one exercise uses starts for that one.
    services: tuple[str, ...] = field(default=())
    # Seconds its test may take, for a grader that has long work to do (0: the grader's
    # default). A check with a longer limit than this keeps its own.
    time_limit: int = 0

    @property
    def chapter_number(self) -> str:
        return self.chapter[:2]

    @property
    def notebook(self) -> Path:
        return paths.NOTEBOOKS / f"{self.chapter}.ipynb"

    @property
    def test_file(self) -> str:
        return self.tests[0].split("::")[0]

    def graded_on(self, asked: str | None) -> str | None:
        """The database a check that asked for ``asked`` (None: SQLite) grades this on
        (None: SQLite)."""
        database = self.database or asked
        return None if database in (None, "", "sqlite") else database

    def runs_on(self, asked: str | None) -> bool:
        """Whether the exercise exists on ``asked`` (None: SQLite)."""
        return not self.database or self.database == (asked or "sqlite")


@dataclass(frozen=True)
class Chapter:
    number: str
    slug: str  # e.g. "01_measure_first"
    title: str
    exercises: tuple[Exercise, ...] = field(default=())
    # Services the chapter's notebook and graders need beyond those that always run (names
    # of plug-ins in course/services/plugins/): `check NN` and the notebook start them.
    services: tuple[str, ...] = field(default=())
    # How many pytest processes may grade the chapter side by side: for graders that mostly
    # wait on workers and servers (each process gets its own Redis databases and servers).
    graders_in_parallel: int = 1
    # The graders measure what the database itself does (queries, plans, connections), so a
    # wrong solution may be caught on one database and not the other: `course test` grades
    # this chapter's wrong solutions on PostgreSQL as well as on SQLite.
    database_bound: bool = False
    # Each exercise's state is a partial solution of the chapter (the capstone): `course test`
    # also grades the state after each exercise but the last, where what is solved must pass
    # and what is left out must fail.
    step_by_step: bool = False

    @property
    def all_services(self) -> tuple[str, ...]:
        """The chapter's services, then those its exercises add: what its notebook needs."""
        names = list(self.services)
        for exercise in self.exercises:
            names.extend(name for name in exercise.services if name not in names)
        return tuple(names)


@dataclass(frozen=True)
class Catalog:
    chapters: tuple[Chapter, ...]

    @property
    def exercises(self) -> tuple[Exercise, ...]:
        return tuple(ex for chapter in self.chapters for ex in chapter.exercises)

    def chapter(self, number: str) -> Chapter:
        number = number.strip()
        if number.isdigit() and len(number) == 1:
            number = f"0{number}"
        if not CHAPTER_PATTERN.match(number):
            raise CatalogError(f"'{number}' is not a chapter number; use two digits, e.g. 01.")
        for chapter in self.chapters:
            if chapter.number == number:
                return chapter
        known = ", ".join(c.number for c in self.chapters)
        raise CatalogError(f"there is no chapter {number}; chapters: {known}.")

    def exercise(self, exercise_id: str) -> Exercise:
        exercise_id = exercise_id.strip()
        if not ID_PATTERN.match(exercise_id):
            raise CatalogError(
                f"'{exercise_id}' is not an exercise id; ids look like 01.2 "
                "(`python3 -m course progress` lists them)."
            )
        for ex in self.exercises:
            if ex.id == exercise_id:
                return ex
        chapter = exercise_id.split(".")[0]
        ids = [ex.id for ex in self.exercises if ex.chapter_number == chapter]
        if ids:
            raise CatalogError(
                f"there is no exercise {exercise_id}; chapter {chapter} has {', '.join(ids)}."
            )
        raise CatalogError(f"there is no exercise {exercise_id} (no chapter {chapter} exercises).")

    def select(self, selector: str | None) -> list[Exercise]:
        """Exercises for ``None`` (all), a chapter ``NN`` or an id ``NN.M``."""
        if not selector:
            return list(self.exercises)
        if "." in selector:
            return [self.exercise(selector)]
        chapter = self.chapter(selector)
        if not chapter.exercises:
            raise CatalogError(
                f"chapter {chapter.number} ({chapter.title}) has no graded exercises; "
                "its notebook is a guided tour."
            )
        return list(chapter.exercises)

    def chapters_up_to(self, number: str) -> list[Chapter]:
        return [c for c in self.chapters if c.number <= number]

    def services_for(self, exercises: list[Exercise]) -> list[str]:
        """The services the chapters of ``exercises`` declare, then those the exercises
        themselves add, each once, in order."""
        numbers = {exercise.chapter_number for exercise in exercises}
        names: list[str] = []
        for chapter in self.chapters:
            if chapter.number in numbers:
                names.extend(name for name in chapter.services if name not in names)
        for exercise in exercises:
            names.extend(name for name in exercise.services if name not in names)
        return names


def parse(text: str) -> Catalog:
    data = tomllib.loads(text)
    chapters = []
    for raw_chapter in data.get("chapter", []):
        slug = raw_chapter["slug"]
        exercises = tuple(
            Exercise(
                id=raw["id"],
                title=raw["title"],
                chapter=slug,
                files=tuple(raw.get("files", ())),
                tests=tuple(raw.get("tests", ())),
                hints=tuple(raw.get("hints", ())),
                docs=raw.get("docs", ""),
                target=raw.get("target", ""),
                database=_only_database(raw),
                services=tuple(raw.get("services", ())),
                time_limit=int(raw.get("time_limit", 0)),
            )
            for raw in raw_chapter.get("exercise", [])
        )
        chapters.append(
            Chapter(number=slug[:2], slug=slug, title=raw_chapter["title"], exercises=exercises,
                    services=tuple(raw_chapter.get("services", ())),
                    graders_in_parallel=int(raw_chapter.get("graders_in_parallel", 1)),
                    database_bound=bool(raw_chapter.get("database_bound", False)),
                    step_by_step=bool(raw_chapter.get("step_by_step", False)))
        )
    return Catalog(chapters=tuple(chapters))


DATABASES = ("sqlite", "postgres")


def _only_database(raw: dict) -> str:
    database = raw.get("database", "")
    if database and database not in DATABASES:
        raise CatalogError(f"exercise {raw.get('id')}: database must be one of "
                           f"{', '.join(DATABASES)}, not {database!r}")
    return database


@cache
def _load_cached(path: Path, mtime: float) -> Catalog:
    return parse(path.read_text(encoding="utf-8"))


def load(path: Path = paths.CATALOG) -> Catalog:
    """Load the catalog (cached until the file changes)."""
    return _load_cached(path, path.stat().st_mtime)
