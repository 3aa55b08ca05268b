"""Write reference files into the learner's ``starter_project/`` without losing anything.

``apply`` fast-forwards to the state after a chapter; ``reset`` puts files
back to how they were before an exercise's chapter. Both refuse to run on
uncommitted changes unless forced, and both copy every file they replace or
remove to ``.course/backups/<timestamp>/`` first, and say where.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from course import paths
from course.catalog import Catalog, Exercise
from course.project import states


class WorkspaceError(Exception):
    """Refused: the message says why and what to do."""


@dataclass
class Change:
    backup: Path | None
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = list(self.notes)
        if self.written:
            lines.append(f"wrote {len(self.written)} file(s): " + ", ".join(self.written))
        if self.removed:
            lines.append(f"removed {len(self.removed)} file(s): " + ", ".join(self.removed))
        if not self.written and not self.removed:
            lines.append("nothing to change: those files are already in that state")
        if self.backup:
            lines.append(f"your previous versions are saved in {self.backup}")
        if any(_is_migration(rel) for rel in self.written):
            lines.append("migrations changed: `python3 -m course lab` applies them on start, or "
                         "run `python manage.py migrate` in starter_project/")
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


def with_migrations(relative: list[str], *states: Path) -> list[str]:
    """An app's models and its migrations move together: add every migration file of the
    apps that ``relative`` touches, as found in any of ``states``."""
    files = set(relative)
    for app in {app for rel in relative if (app := _app_of(rel))}:
        for state in states:
            folder = state / app / "migrations"
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


def write_state(
    source: Path, relative: list[str], *, force: bool, starter: Path = paths.STARTER
) -> Change:
    """Make ``relative`` files in ``starter`` equal to those in ``source``.

    A file missing from ``source`` is removed from ``starter``. When models change,
    so do the app's migrations, and the database is migrated back first.
    """
    relative = with_migrations(relative, source, starter)
    _refuse_if_dirty(relative, force)
    plan: list[tuple[str, bytes | None]] = []
    change = Change(backup=None)
    for rel in sorted(set(relative)):
        wanted = states.file_in_state(source, rel)
        if states.file_in_state(starter, rel) == wanted:
            change.unchanged.append(rel)
        else:
            plan.append((rel, wanted))
    if not plan:
        return change
    backup = _new_backup_dir()
    for rel, _ in plan:
        current = starter / rel
        if current.exists():
            saved = backup / "starter_project" / rel
            saved.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(current, saved)
            change.backup = backup
    if starter == paths.STARTER:
        change.notes.extend(_unapply_replaced_migrations(plan, starter))
    for rel, wanted in plan:
        current = starter / rel
        if wanted is None:
            current.unlink(missing_ok=True)
            change.removed.append(rel)
        else:
            current.parent.mkdir(parents=True, exist_ok=True)
            current.write_bytes(wanted)
            change.written.append(rel)
    return change


def chapter_files(catalog: Catalog, through: str) -> list[str]:
    """Every starter file that the overlays up to chapter ``through`` touch."""
    files: set[str] = set()
    for overlay in states.overlay_dirs(catalog, through):
        files.update(states.overlay_files(overlay))
    return sorted(files)


def apply_chapter(catalog: Catalog, chapter: str, *, force: bool = False) -> Change:
    """Fast-forward the starter to the reference state after ``chapter``."""
    catalog.chapter(chapter)
    state = states.reference_state(catalog, chapter)
    return write_state(state, chapter_files(catalog, chapter), force=force)


def reset_exercises(
    catalog: Catalog,
    exercises: list[Exercise],
    *,
    whole_chapters: bool = False,
    force: bool = False,
) -> Change:
    """Put the exercises' files back to the state before the earliest of their chapters.

    With ``whole_chapters``, every file those chapters' solutions touch is reset too.
    """
    files = {rel for exercise in exercises for rel in exercise.files}
    if whole_chapters:
        for slug in {exercise.chapter for exercise in exercises}:
            overlay = paths.SOLUTIONS / slug
            if overlay.is_dir():
                files.update(states.overlay_files(overlay))
    earliest = min(exercise.chapter_number for exercise in exercises)
    before = states.reference_state(catalog, states.previous_chapter(catalog, earliest))
    return write_state(before, sorted(files), force=force)
