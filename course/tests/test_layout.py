"""The package's layout is its architecture: layers import downwards only, and never in a circle.

    cli, suite          → everything below
    notebook, setup     → grading, measuring, project, services, base
    grading, measuring  → project, services, base (not each other)
    project             → services, base
    services            → base
    base                paths, envfile, catalog, statefiles, text (and the package's __init__)

``setup.bootstrap`` runs before ``.venv`` exists: standard library and
``course.paths`` only. Every subpackage says in its docstring what it owns.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from course import paths

PACKAGE = paths.ROOT / "course"
RANK = {
    "paths": 0, "envfile": 0, "catalog": 0, "statefiles": 0, "text": 0, "venvs": 0,
    "local_secret": 0, "platform_gaps": 0, "generated": 0,
    "__init__": 0,
    "__main__": 7,
    "services": 1, "project": 2, "grading": 3, "measuring": 3,
    "notebook": 4, "setup": 4, "suite": 5, "cli": 6,
}
# Importing `course` itself is the facade for notebooks; inside the package it is only used
# for `from course import paths` and the like, which name base modules.


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "tests" not in p.relative_to(PACKAGE).parts)


def _layer(module: str) -> str:
    """"course.grading.grader" -> "grading"; "course.paths" -> "paths"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _name(path: Path) -> str:
    relative = path.relative_to(paths.ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    relative = Path(*dotted.split("."))
    return (paths.ROOT / relative.with_suffix(".py")).exists() or \
        (paths.ROOT / relative / "__init__.py").exists()


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every ``course.*`` module this file imports (at any depth), with the line.

    ``from course.services import ports`` imports the module ``course.services.ports``;
    imports under ``if TYPE_CHECKING:`` do not count.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(inner) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
                   for inner in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: never imported at run time
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "course" or node.module.startswith("course."):
                for alias in node.names:
                    dotted = f"{node.module}.{alias.name}"
                    found.append((dotted if _is_module(dotted) else node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names
                         if alias.name.startswith("course."))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path: Path) -> None:
    own = _layer(_name(path))
    for module, line in _imports(path):
        other = _layer(module)
        if other == own or RANK.get(other) == RANK.get(own) == 0:
            continue  # base modules may use each other (the cycle test still watches them)
        assert other in RANK, f"{module} is not part of the layout"
        assert RANK[other] < RANK[own] or (own == "__init__" and path.parent == PACKAGE), (
            f"{path.relative_to(paths.ROOT)}:{line} imports {module}: {own} may only import "
            "layers below it"
        )


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    names = {_name(p) for p in _modules()}
    for path in _modules():
        graph[_name(path)] = {m for m, _ in _imports(path) if m in names}
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        if node in trail:
            cycle = trail[trail.index(node):] + [node]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, [*trail, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])


@pytest.mark.parametrize("module", ["setup/bootstrap.py", "venvs.py"])
def test_bootstrap_needs_only_the_standard_library(module: str) -> None:
    """It runs under whatever python3 the learner has, before anything is installed."""
    tree = ast.parse((PACKAGE / module).read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or \
                name in ("course", "course.paths", "course.venvs") or \
                top == "__future__", f"{module} imports {name}, which may not be installed yet"


@pytest.mark.parametrize("package", sorted(p.parent for p in PACKAGE.rglob("__init__.py")
                                           if "tests" not in p.relative_to(PACKAGE).parts),
                         ids=lambda p: str(p.relative_to(paths.ROOT)))
def test_every_subpackage_says_what_it_owns(package: Path) -> None:
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
    assert docstring and len(docstring) > 40, f"{package.name}/__init__.py needs a docstring"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_has_a_docstring(path: Path) -> None:
    assert ast.get_docstring(ast.parse(path.read_text())), f"{path} has no module docstring"


def test_tests_mirror_the_layout() -> None:
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")} - {"tests"}
    mirrored = {p.parent.name for p in (PACKAGE / "tests").glob("*/__init__.py")}
    assert subpackages <= mirrored, f"no tests folder for {sorted(subpackages - mirrored)}"
