"""The reference solution as steps: one diff per exercise, applied in the catalog's order.

``solutions/NN_topic/NN.M.diff`` turns the project as it is before exercise
NN.M (the starter plus every earlier step) into the project after it. So a
step is exactly that exercise's change: ``course solution NN.M`` shows it, and
the reference state after any exercise or chapter is the starter plus the
steps up to it.

Maintainers edit the steps as git history, then write them back::

    python3 -m course.project.steps unpack /tmp/steps   # a git repo: the starter, one commit per step
    # edit, commit, rebase -i … (git carries later steps over your change)
    python3 -m course.project.steps pack /tmp/steps     # starter_project/ and the .diff files again
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from course import paths
from course.catalog import Catalog, Exercise
from course.project import patches

SUFFIX = ".diff"
# Lines of context around each change: enough to place a hunk exactly, few enough that an
# edit to the starter near (not in) an exercise's code leaves its step applying.
CONTEXT = 2
IGNORED_PARTS = {"__pycache__", ".pytest_cache"}


@dataclass(frozen=True)
class Step:
    exercise: Exercise

    @property
    def path(self) -> Path:
        return paths.SOLUTIONS / self.exercise.chapter / f"{self.exercise.id}{SUFFIX}"

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def file_patches(self) -> list[patches.FilePatch]:
        return patches.parse(self.text(), source=str(self.path.relative_to(paths.ROOT)))

    def files(self) -> list[str]:
        """Every project file this step writes, creates or deletes."""
        return sorted({p.path for p in self.file_patches()})


@dataclass(frozen=True)
class Wrong:
    """A course-owned wrong solution: ``exercises_tests/wrong/NN.M-what.diff``, a diff on the
    project as it is before exercise NN.M, which that exercise's grader must reject.

    Its first lines say what it gets wrong, and ``rejected: <words>``: what the grader's
    message must say, so it is rejected for the right reason. An optional ``hint: N`` says
    which of the exercise's hints the learner must be shown for it (default 1).
    """

    path: Path
    exercise: Exercise

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def file_patches(self) -> list[patches.FilePatch]:
        return patches.parse(self.text(), source=str(self.path.relative_to(paths.ROOT)))

    @property
    def rejected_with(self) -> str:
        return next((line.split(":", 1)[1].strip() for line in self.text().splitlines()
                     if line.startswith("rejected:")), "")

    @property
    def hint(self) -> int:
        return next((int(line.split(":", 1)[1]) for line in self.text().splitlines()
                     if line.startswith("hint:")), 1)

    @property
    def what(self) -> str:
        lines = []
        for line in self.text().splitlines():
            if line.startswith(("rejected:", "hint:")):
                break
            lines.append(line)
        return " ".join(lines).strip()


def wrong_solutions(catalog: Catalog) -> list[Wrong]:
    """Every course-owned wrong solution, by exercise then name."""
    folder = paths.EXERCISES_TESTS / "wrong"
    return [Wrong(path, catalog.exercise(path.name.split("-", 1)[0]))
            for path in sorted(folder.glob(f"*{SUFFIX}"))]


def all_steps(catalog: Catalog) -> list[Step]:
    return [Step(exercise) for exercise in catalog.exercises]


def steps_through(catalog: Catalog, through: str) -> list[Step]:
    """The steps up to chapter ``NN`` (all of it) or exercise ``NN.M`` (included)."""
    ordered = all_steps(catalog)
    if "." in through:
        ids = [step.exercise.id for step in ordered]
        catalog.exercise(through)  # a clear error for an unknown id
        return ordered[:ids.index(through) + 1]
    return [step for step in ordered if step.exercise.chapter_number <= through]


def step_before(catalog: Catalog, exercise: Exercise) -> str:
    """The state just before ``exercise``: the previous exercise's id, or a chapter number."""
    ordered = [ex.id for ex in catalog.exercises]
    index = ordered.index(exercise.id)
    if index == 0:
        return "00"
    return ordered[index - 1]


def read_tree(root: Path) -> dict[str, str]:
    """Every text file under ``root`` by its relative path (in a git checkout, the files git
    tracks there: not databases, caches or other local files)."""
    tracked = subprocess.run(["git", "ls-files", "-z", "--", "."], cwd=root,
                             capture_output=True, text=True)
    if tracked.returncode == 0 and tracked.stdout:
        names = sorted(name for name in tracked.stdout.split("\0") if name)
    else:
        names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return {name: (root / name).read_text(encoding="utf-8") for name in names
            if (root / name).is_file() and not IGNORED_PARTS.intersection(Path(name).parts)}


def apply_step(step: Step, files: dict[str, str]) -> None:
    """Apply one step to ``files`` (relative path → text), in place."""
    source = str(step.path.relative_to(paths.ROOT))
    for file_patch in step.file_patches():
        result = patches.apply(file_patch, files.get(file_patch.old_path or ""), source)
        if file_patch.old_path and file_patch.old_path != file_patch.path:
            files.pop(file_patch.old_path, None)
        if result is None:
            files.pop(file_patch.path, None)
        else:
            files[file_patch.path] = result


def write_tree(files: dict[str, str], root: Path) -> None:
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def step_text(before: dict[str, str], after: dict[str, str]) -> str:
    """The diff from one tree to another, file by file in path order."""
    return "".join(patches.diff(rel, before.get(rel), after.get(rel), context=CONTEXT)
                   for rel in sorted(set(before) | set(after)))


# --- maintainers: the steps as a git history -------------------------------------------


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "user.name=Course maintainer",
                             "-c", "user.email=maintainer@course.invalid", *args],
                            cwd=repo, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def unpack(catalog: Catalog, repo: Path) -> None:
    """A git repository in ``repo``: the starter as the first commit, then one commit per step,
    its message starting with the exercise id."""
    if repo.exists() and any(repo.iterdir()):
        raise SystemExit(f"{repo} is not empty")
    repo.mkdir(parents=True, exist_ok=True)
    _git(repo, "init", "-q")
    files = read_tree(paths.STARTER)
    write_tree(files, repo)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "starter")
    for step in all_steps(catalog):
        before = dict(files)
        apply_step(step, files)
        for gone in set(before) - set(files):
            (repo / gone).unlink()
        write_tree(files, repo)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "--allow-empty", "-m",
             f"{step.exercise.id} {step.exercise.title}")
    print(f"unpacked the starter and {len(all_steps(catalog))} steps into {repo}")


def _tree_at(repo: Path, commit: str) -> dict[str, str]:
    names = _git(repo, "ls-tree", "-r", "--name-only", commit).splitlines()
    return {name: _git(repo, "show", f"{commit}:{name}") for name in names}


def pack(catalog: Catalog, repo: Path) -> None:
    """Write ``starter_project/`` and every step's diff back from a repository made by
    :func:`unpack` (and edited): the first commit is the starter, each later commit the step
    its message names."""
    commits = _git(repo, "rev-list", "--reverse", "HEAD").split()
    messages = {c: _git(repo, "log", "-1", "--format=%s", c).strip() for c in commits}
    expected = [step.exercise.id for step in all_steps(catalog)]
    found = [messages[c].split()[0] for c in commits[1:]]
    if found != expected:
        raise SystemExit("the commits after the first must be one per exercise, in the "
                         f"catalog's order: expected {expected}, found {found}")
    starter = _tree_at(repo, commits[0])
    current = read_tree(paths.STARTER)
    for gone in set(current) - set(starter):
        (paths.STARTER / gone).unlink()
    write_tree(starter, paths.STARTER)
    previous = starter
    for commit, step in zip(commits[1:], all_steps(catalog), strict=True):
        tree = _tree_at(repo, commit)
        step.path.parent.mkdir(parents=True, exist_ok=True)
        step.path.write_text(step_text(previous, tree), encoding="utf-8")
        previous = tree
    print(f"wrote starter_project/ and {len(commits) - 1} steps under solutions/")


def main(argv: list[str] | None = None) -> None:
    from course import catalog

    parser = argparse.ArgumentParser(prog="python3 -m course.project.steps",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["unpack", "pack"])
    parser.add_argument("repo", type=Path)
    args = parser.parse_args(argv)
    (unpack if args.action == "unpack" else pack)(catalog.load(), args.repo.resolve())


if __name__ == "__main__":
    main(sys.argv[1:])
