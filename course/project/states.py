"""Project states: the starter as shipped, plus the solution steps up to an exercise or chapter.

The reference state after exercise NN.M is the shipped starter with every
step up to it applied (``solutions/*/NN.M.diff``, in the catalog's order,
see :mod:`course.project.steps`); after chapter NN, with all of that
chapter's. States are built under ``.course/reference/`` and reused while
their inputs are unchanged.

"As shipped" means the starter at the course's base commit (see
:func:`base_commit`): a learner who commits their own work still has a
pristine starter to reset to, and a course update they pull moves it on.
Without git, the working copy is the only starter there is.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from functools import cache
from pathlib import Path
from typing import Any

from course import paths, statefiles
from course.catalog import Catalog, Exercise
from course.project import steps

STARTER_DIR = "starter_project"
IGNORED_PARTS = {"__pycache__", ".pytest_cache"}
BASE_FILE = paths.STATE / "base"


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=paths.ROOT, capture_output=True)


def has_git() -> bool:
    try:
        return _git("rev-parse", "--verify", "HEAD").returncode == 0
    except FileNotFoundError:
        return False


def starter_is_clean() -> bool:
    """True when ``starter_project/`` has no uncommitted changes (untracked files count)."""
    result = _git("status", "--porcelain", "--", STARTER_DIR)
    return result.returncode == 0 and not result.stdout.strip()


def dirty_files(relative: list[str] | None = None) -> list[str]:
    """Uncommitted files under the starter (optionally only these relative paths)."""
    spec = [f"{STARTER_DIR}/{p}" for p in relative] if relative else [STARTER_DIR]
    result = _git("status", "--porcelain", "--", *spec)
    if result.returncode != 0:
        return []
    return [line[3:] for line in result.stdout.decode().splitlines() if line.strip()]


COURSE_OWNED = ["course", "exercises_tests", "solutions", "notebooks", "lessons"]


def _is_ancestor(older: str, newer: str) -> bool:
    return _git("merge-base", "--is-ancestor", older, newer).returncode == 0


@cache
def base_commit() -> str | None:
    """The commit whose starter counts as shipped.

    Recorded the first time the tooling runs on a clean checkout, then moved
    forward to the newest commit that changes the course's own files (an
    update the learner pulled). A learner's own commits touch only
    ``starter_project/``, so they never move it. A recorded commit that is no
    longer in the checkout's history (the course's history was rewritten, and
    pulled again) gives way to that newest commit too: the starter it shipped is
    gone. Asked once per process: every reference state a check looks at needs
    it, and it costs several git calls.
    """
    if not has_git():
        return None
    recorded = None
    if BASE_FILE.exists():
        commit = BASE_FILE.read_text().strip()
        if _git("cat-file", "-e", f"{commit}^{{commit}}").returncode == 0:
            recorded = commit
    if recorded is None:
        head = _git("rev-parse", "HEAD").stdout.decode().strip()
        if not starter_is_clean():
            return head
        recorded = head
    update = _git("log", "-1", "--format=%H", "--", *COURSE_OWNED).stdout.decode().strip()
    if update and update != recorded and (_is_ancestor(recorded, update)
                                          or not _is_ancestor(recorded, "HEAD")):
        recorded = update
    BASE_FILE.parent.mkdir(parents=True, exist_ok=True)
    BASE_FILE.write_text(recorded + "\n")
    return recorded


def shipped_file(relative: str) -> bytes | None:
    """A starter file's content as shipped, or None when it did not exist."""
    commit = base_commit()
    if commit is None:
        path = paths.STARTER / relative
        return path.read_bytes() if path.exists() else None
    result = _git("show", f"{commit}:{STARTER_DIR}/{relative}")
    return result.stdout if result.returncode == 0 else None


def _export_shipped_starter(destination: Path) -> None:
    commit = base_commit()
    if commit is None:
        shutil.copytree(paths.STARTER, destination, ignore=shutil.ignore_patterns(*IGNORED_PARTS))
        return
    archive = _git("archive", "--format=tar", commit, STARTER_DIR)
    if archive.returncode != 0:
        raise RuntimeError(archive.stderr.decode().strip())
    destination.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        for member in tar.getmembers():
            if member.name == STARTER_DIR or not member.name.startswith(STARTER_DIR + "/"):
                continue
            member.name = member.name[len(STARTER_DIR) + 1 :]
            _extract(tar, member, destination)


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, destination: Path) -> None:
    try:
        tar.extract(member, destination, filter="data")
    except TypeError:  # Python 3.10 before 3.10.12 has no extraction filters
        tar.extract(member, destination)


def _state_key(steps: list[Any]) -> str:
    base = base_commit()
    digest = hashlib.sha256((base or "working-copy").encode())
    if base is None:
        for path in sorted(paths.STARTER.rglob("*")):
            if path.is_file() and not IGNORED_PARTS.intersection(path.parts):
                digest.update(str(path.relative_to(paths.STARTER)).encode() + path.read_bytes())
    for step in steps:
        digest.update(step.exercise.id.encode() + step.path.read_bytes())
    return digest.hexdigest()[:16]


def _apply_steps(steps_used: list[Any], root: Path) -> None:
    """Apply each step to the files under ``root``, in place."""
    for step in steps_used:
        involved = {name for p in step.file_patches() for name in (p.old_path, p.new_path)
                    if name}
        files = {rel: (root / rel).read_text(encoding="utf-8")
                 for rel in involved if (root / rel).is_file()}
        steps.apply_step(step, files)
        for rel in involved:
            target = root / rel
            if rel in files:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(files[rel], encoding="utf-8")
            else:
                target.unlink(missing_ok=True)


def reference_state(catalog: Catalog, through: str) -> Path:
    """Build (or reuse) the project as it is once chapter ``through`` (``"NN"``) or exercise
    ``through`` (``"NN.M"``) is solved; ``"00"`` is the starter as shipped.

    Built under ``.course/reference/after_<through>/`` and reused while the starter and the
    steps it is made of are unchanged.
    """
    steps_used = [] if through == "00" else steps.steps_through(catalog, through)
    return _built(f"after_{through}", steps_used)


def wrong_state(catalog: Catalog, wrong: steps.Wrong) -> Path:
    """The project with a course-owned wrong solution in place of its exercise's step: every
    earlier step, then the wrong one (built under ``.course/reference/wrong_<name>/``)."""
    before = steps.step_before(catalog, wrong.exercise)
    earlier = [] if before == "00" else steps.steps_through(catalog, before)
    return _built(f"wrong_{wrong.path.stem}", [*earlier, wrong])


def wrong_batch_state(catalog: Catalog, wrongs: list[steps.Wrong]) -> Path:
    """The project with several wrong solutions of one chapter at once, each in place of its
    own exercise's step (at most one per exercise), the chapter's other steps as in the
    reference. Raises ``patches.PatchError`` when they do not apply together."""
    chapter = wrongs[0].exercise.chapter_number
    by_exercise = {wrong.exercise.id: wrong for wrong in wrongs}
    if len(by_exercise) != len(wrongs) or any(
            wrong.exercise.chapter_number != chapter for wrong in wrongs):
        raise ValueError("a batch takes at most one wrong solution per exercise, one chapter")
    last = max(catalog.exercises.index(wrong.exercise) for wrong in wrongs)
    used: list[Any] = []
    for step in steps.steps_through(catalog, catalog.exercises[last].id):
        used.append(by_exercise.get(step.exercise.id, step))
    names = "+".join(sorted(wrong.path.stem for wrong in wrongs))
    key = hashlib.sha256(names.encode()).hexdigest()[:12]
    return _built(f"wrong_batch_{chapter}_{key}", used)


def _built(name: str, steps_used: list[Any]) -> Path:
    """The starter as shipped with ``steps_used`` applied, built once per key."""
    destination = paths.REFERENCE / name
    key = _state_key(steps_used)
    key_file = destination / ".course-state"
    if key_file.exists() and key_file.read_text() == key:
        return destination
    # One builder of a state at a time, across processes (the suite runs parts side by side).
    with statefiles.locked(paths.REFERENCE / f".{name}.lock"):
        if key_file.exists() and key_file.read_text() == key:
            return destination  # another process built it meanwhile
        building = paths.REFERENCE / f".{name}.building-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        try:
            _export_shipped_starter(building)
            _apply_steps(steps_used, building)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)  # a step that does not apply
            raise
        (building / ".course-state").write_text(key)
        if destination.exists():
            old = paths.REFERENCE / f".{name}.old-{os.getpid()}"
            destination.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        building.rename(destination)
    return destination


def state_before(catalog: Catalog, exercise: Exercise) -> Path:
    """The reference state just before ``exercise``: every earlier step applied."""
    return reference_state(catalog, steps.step_before(catalog, exercise))


def state_before_chapter(catalog: Catalog, number: str) -> Path:
    return reference_state(catalog, previous_chapter(catalog, number))


def final_chapter(catalog: Catalog) -> str:
    return catalog.chapters[-1].number


def previous_chapter(catalog: Catalog, number: str) -> str:
    earlier = [c.number for c in catalog.chapters if c.number < number]
    return earlier[-1] if earlier else "00"


def file_in_state(state: Path, relative: str) -> bytes | None:
    path = state / relative
    return path.read_bytes() if path.exists() else None
