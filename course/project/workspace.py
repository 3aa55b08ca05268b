"""Write reference files into the learner's ``starter_project/`` without losing anything.

``apply`` fast-forwards to the state after a chapter; ``reset`` puts an
exercise's code back as it was before its chapter, and never another
exercise's: a file shared with work the learner did on another exercise is
put back only when that can be done exactly, and otherwise left alone with a
note saying what to do. Both refuse to run on uncommitted changes unless
forced, and both copy every file they replace or remove to
``.course/backups/<timestamp>/`` first, and say where.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from course import paths
from course.catalog import Catalog, Exercise
from course.project import layout, markers, states, steps


class WorkspaceError(Exception):
    """Refused: the message says why and what to do."""


@dataclass
class Change:
    backup: Path | None
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # files left alone, and why

    def describe(self) -> str:
        lines = list(self.notes)
        if self.written:
            lines.append(f"wrote {len(self.written)} file(s): " + ", ".join(self.written))
        if self.removed:
            lines.append(f"removed {len(self.removed)} file(s): " + ", ".join(self.removed))
        lines.extend(f"not changed: {reason}" for reason in self.kept)
        if not self.written and not self.removed and not self.kept:
            lines.append("nothing to change: those files are already in that state")
        if self.backup:
            lines.append(f"your previous versions are saved in {self.backup}")
        return "\n".join(lines)


def _refuse_if_dirty(relative: list[str], force: bool) -> None:
    if force:
        return
    dirty = states.dirty_files(relative)
    if dirty:
        shown = ", ".join(dirty[:5]) + (" …" if len(dirty) > 5 else "")
        raise WorkspaceError(
            f"you have uncommitted changes ({shown}). Commit them (git add -A && git commit) "
            "or run again with --force; a backup is made either way."
        )


def _new_backup_dir() -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = paths.BACKUPS / stamp
    suffix = 1
    while candidate.exists():
        suffix += 1
        candidate = paths.BACKUPS / f"{stamp}-{suffix}"
    return candidate


def _is_migration(rel: str) -> bool:
    path = PurePosixPath(rel)
    return path.parent.name == "migrations" and path.suffix == ".py" and path.name != "__init__.py"


def _app_of(rel: str) -> str | None:
    """The app folder whose models or migrations ``rel`` is, else None."""
    path = PurePosixPath(rel)
    if path.name == "models.py":
        return str(path.parent)
    if path.parent.name == "migrations":
        return str(path.parent.parent)
    return None


def with_migrations(relative: list[str], *trees: Path) -> list[str]:
    """An app's models and its migrations move together: add every migration file of the
    apps that ``relative`` touches, as found in any of ``trees``."""
    files = set(relative)
    for app in {app for rel in relative if (app := _app_of(rel))}:
        for tree in trees:
            folder = tree / app / "migrations"
            if folder.is_dir():
                files.update(f"{app}/migrations/{p.name}" for p in folder.glob("*.py"))
    return sorted(files)


def _learner_database_exists() -> bool:
    from course.project import commands

    return commands.learner_db() == "postgres" or commands.learner_sqlite().exists()


def _unapply_replaced_migrations(
    plan: list[tuple[str, bytes | None]], starter: Path
) -> list[str]:
    """Migrate the learner's database back before their migration files change or go.

    Rolls each app back to its newest migration that stays as it is (``zero`` if
    none), so the replacement migrations apply cleanly afterwards. Returns notes.
    """
    from course.project import commands

    notes: list[str] = []
    if not _learner_database_exists():
        return notes
    apps: dict[str, list[str]] = {}
    for rel, _ in plan:
        if _is_migration(rel) and (starter / rel).exists():
            apps.setdefault(str(PurePosixPath(rel).parent.parent), []).append(rel)
    for app, leaving in sorted(apps.items()):
        names = sorted(p.stem for p in (starter / app / "migrations").glob("0*.py"))
        first_leaving = min(PurePosixPath(rel).stem for rel in leaving)
        kept = [name for name in names if name < first_leaving]
        label = PurePosixPath(app).name
        target = kept[-1] if kept else "zero"
        try:
            commands.manage("migrate", label, target, "--no-input", "-v0", target=starter,
                           capture=True)
        except (OSError, subprocess.CalledProcessError) as error:
            detail = getattr(error, "stderr", "") or str(error)
            last = (detail.strip().splitlines() or ["no output"])[-1]
            notes.append(f"could not migrate the database back to {label} {target} ({last}); "
                         "run `python manage.py migrate` in starter_project/ afterwards and "
                         "fix what it reports")
        else:
            notes.append(f"database: migrated {label} back to {target} before replacing "
                         "its migrations")
    return notes


def _plan(wanted: dict[str, bytes | None], starter: Path, change: Change) -> dict[str, bytes | None]:
    """The files whose content differs from what is wanted (the others are noted unchanged)."""
    plan = {}
    for rel in sorted(wanted):
        if states.file_in_state(starter, rel) == wanted[rel]:
            change.unchanged.append(rel)
        else:
            plan[rel] = wanted[rel]
    return plan


def _write(plan: dict[str, bytes | None], starter: Path, change: Change) -> Change:
    """Back up every file about to be replaced or removed, then write the plan."""
    if not plan:
        return change
    backup = _new_backup_dir()
    for rel in plan:
        current = starter / rel
        if current.exists():
            saved = backup / "starter_project" / rel
            saved.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(current, saved)
            change.backup = backup
    if starter == paths.STARTER:
        change.notes.extend(_unapply_replaced_migrations(list(plan.items()), starter))
    for rel, wanted in plan.items():
        current = starter / rel
        if wanted is None:
            current.unlink(missing_ok=True)
            change.removed.append(rel)
        else:
            current.parent.mkdir(parents=True, exist_ok=True)
            current.write_bytes(wanted)
            change.written.append(rel)
    if starter == paths.STARTER and any(_is_migration(rel) for rel in plan):
        change.notes.extend(_migrate_forward(starter))
    return change


def _migrate_forward(starter: Path) -> list[str]:
    """Apply the new migrations to the learner's database now (JupyterLab may be running
    already: its start is not coming to do it)."""
    from course.project import commands

    if not _learner_database_exists():
        return ["migrations changed: `python3 -m course lab` creates the database and applies "
                "them"]
    try:
        commands.manage("migrate", "--no-input", "-v0", target=starter, capture=True)
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        last = (detail.strip().splitlines() or ["no output"])[-1]
        return [f"could not apply the migrations ({last}): run `cd starter_project && "
                "../.venv/bin/python manage.py migrate` and fix what it reports"]
    return ["database: migrated (the new migrations are applied)"]


def _from_state(source: Path, relative: list[str], starter: Path) -> dict[str, bytes | None]:
    """``relative`` files as they are in ``source`` (None: absent), models with migrations."""
    return {rel: states.file_in_state(source, rel)
            for rel in with_migrations(relative, source, starter)}


def write_state(
    source: Path, relative: list[str], *, force: bool, starter: Path = paths.STARTER
) -> Change:
    """Make ``relative`` files in ``starter`` equal to those in ``source``.

    A file missing from ``source`` is removed from ``starter``. When models change,
    so do the app's migrations, and the database is migrated back first.
    """
    wanted = _from_state(source, relative, starter)
    _refuse_if_dirty(sorted(wanted), force)
    change = Change(backup=None)
    return _write(_plan(wanted, starter, change), starter, change)


def exercise_files(exercise: Exercise) -> list[str]:
    """The files an exercise's learner edits and those its reference step writes."""
    return sorted(set(exercise.files) | set(steps.Step(exercise).files()))


def apply_chapter(catalog: Catalog, chapter: str, *, force: bool = False) -> Change:
    """Fast-forward the starter to the reference state after ``chapter``.

    Files the course has moved since (a learner's old ``shop/views.py``) are removed,
    with the rest, after a backup: the shop no longer imports them.
    """
    catalog.chapter(chapter)
    state = states.reference_state(catalog, chapter)
    files = {rel for step in steps.steps_through(catalog, chapter) for rel in step.files()}
    moved = layout.leftovers()
    files.update(item.old for item in moved)
    change = write_state(state, sorted(files), force=force)
    for item in moved:
        change.notes.append(f"{item.old} was from the course's earlier layout; the shop no "
                            f"longer used it (its code lives in {item.new})")
    return change


def _owners(catalog: Catalog) -> dict[str, list[str]]:
    """For each file, the exercises that edit it (catalog order)."""
    owners: dict[str, list[str]] = {}
    for exercise in catalog.exercises:
        for rel in exercise_files(exercise):
            owners.setdefault(rel, []).append(exercise.id)
    return owners


def _engaged(catalog: Catalog, other: str, rel: str, current: bytes | None,
             checked: set[str]) -> bool:
    """Whether the learner has worked on exercise ``other`` in file ``rel``: they checked it,
    or its marker is no longer there as shipped. A file the exercise edits without a marker
    of its own there (09.5's product list) goes by the exercise's markers in its other
    files: while every one is as shipped, the exercise reads as not started."""
    if other in checked or current is None:
        return True
    where = [rel] if _marked(other, rel) else [
        f for f in exercise_files(catalog.exercise(other)) if _marked(other, f)]
    if not where:
        return True
    for marked in where:
        shipped = states.shipped_file(marked)
        now = current if marked == rel else states.file_in_state(paths.STARTER, marked)
        if shipped is None or now is None or not markers.intact(
                other, shipped.decode("utf-8", "replace"), now.decode("utf-8", "replace")):
            return True
    return False


def _marked(exercise_id: str, rel: str) -> bool:
    """Whether the shipped ``rel`` holds a marker of ``exercise_id``."""
    shipped = states.shipped_file(rel)
    return shipped is not None and exercise_id in markers.blocks(shipped.decode("utf-8",
                                                                                "replace"))


def _known_version(catalog: Catalog, rel: str, current: bytes | None, selected: set[str],
                   touching: list[str]) -> Path | None:
    """When the learner's file is exactly a reference version of it, the reference state that
    undoes precisely the selected exercises there (None when there is none)."""
    if current is None:
        return None
    for index, exercise_id in enumerate(touching):
        if states.file_in_state(states.reference_state(catalog, exercise_id), rel) != current:
            continue
        done = touching[:index + 1]
        first = next((i for i, e in enumerate(done) if e in selected), None)
        if first is None or not all(e in selected for e in done[first:]):
            return None  # an exercise after the selected ones is in the file too
        return states.state_before(catalog, catalog.exercise(done[first]))
    return None


def reset_exercises(
    catalog: Catalog,
    exercises: list[Exercise],
    *,
    force: bool = False,
    whole_files: bool = False,
    checked: set[str] | None = None,
) -> Change:
    """Put back the code of ``exercises`` (one, several, or whole chapters), and only theirs.

    Each file goes back as it was before the earliest chapter of the selection. A file that
    also holds another exercise the learner has worked on (checked it, or changed its
    marker) is put back only when that can be done exactly: when it is a reference version,
    the version without the selected exercises. Otherwise it is left as it is, and a note
    says why and what to do; ``whole_files`` puts such files back whole anyway.
    """
    selected = {exercise.id for exercise in exercises}
    checked = checked or set()
    owners = _owners(catalog)
    files = sorted({rel for exercise in exercises for rel in exercise_files(exercise)})
    earliest = min(exercise.chapter_number for exercise in exercises)
    before = states.state_before_chapter(catalog, earliest)
    change = Change(backup=None)
    whole: list[str] = []
    exact: dict[Path, list[str]] = {}
    for rel in files:
        current = states.file_in_state(paths.STARTER, rel)
        if current == states.file_in_state(before, rel):
            change.unchanged.append(rel)
            continue
        others = [e for e in owners.get(rel, []) if e not in selected]
        engaged = [e for e in others if _engaged(catalog, e, rel, current, checked)]
        if not engaged or whole_files:
            whole.append(rel)
            continue
        touching = [s.exercise.id for s in steps.all_steps(catalog) if rel in s.files()]
        source = _known_version(catalog, rel, current, selected, touching)
        if source is not None:
            exact.setdefault(source, []).append(rel)
            continue
        mine = ", ".join(sorted(selected & set(owners.get(rel, []))))
        change.kept.append(
            f"starter_project/{rel} also holds your work on {', '.join(engaged)}: resetting "
            f"{mine} there would undo it too, so it is left as it is. Undo {mine} by hand "
            f"(`python3 -m course solution {mine.split(', ')[0]}` shows the change), reset "
            f"them together (`python3 -m course reset {' '.join(sorted({*selected, *engaged}))}`), "
            "or add --whole-file to put the file back whole (a backup is made)")
    wanted = _from_state(before, whole, paths.STARTER)
    for source, relative in exact.items():
        wanted.update(_from_state(source, relative, paths.STARTER))
    _refuse_if_dirty(sorted(wanted), force)
    for item in layout.leftovers():
        note = layout.notice(item, selected)
        if note:
            change.notes.append(note)
    return _write(_plan(wanted, paths.STARTER, change), paths.STARTER, change)
