"""Notebooks are committed clean: no outputs, current navigation, valid format."""

from __future__ import annotations

import json

import nbformat
import pytest

from course import paths
from course.notebook import navigation

NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_valid_and_has_no_outputs(path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name} is committed with outputs; clear them before committing"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_has_its_own_id(path) -> None:
    """As committed, not as nbformat fills in on reading (it only warns): a cell without an
    id gets a new random one each time the notebook is saved, and diffs fill with noise."""
    ids = [cell.get("id") for cell in json.loads(path.read_text())["cells"]]
    missing = [number for number, cell_id in enumerate(ids) if not cell_id]
    assert not missing, f"{path.name}: cells {missing} have no id"
    assert len(set(ids)) == len(ids), f"{path.name}: cell ids repeat"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_navigation_is_current(path) -> None:
    slugs, _ = navigation.existing_notebooks()
    cells = json.loads(path.read_text())["cells"]
    expected = navigation.expected_cells(path, slugs)
    assert navigation._sources(cells) == navigation._sources(expected), (
        "run `python -m course.notebook.navigation` to refresh the navigation cells"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_its_chapters_services(path) -> None:
    """`setup_django(chapter="NN")` brings up the services the catalog says the chapter needs."""
    notebook = nbformat.read(path, as_version=4)
    calls = [cell.source for cell in notebook.cells
             if cell.cell_type == "code" and "setup_django(" in cell.source]
    assert calls and f'setup_django(chapter="{path.name[:2]}")' in calls[0], (
        f"{path.name}: call setup_django(chapter=\"{path.name[:2]}\") first"
    )
