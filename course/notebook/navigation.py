"""Keep each notebook's navigation cells (previous · contents · next) in step with the catalog.

Maintainers run ``python -m course.notebook.navigation`` after adding a chapter; a
tooling test fails when a notebook's navigation is out of date.
"""

from __future__ import annotations

import json
from pathlib import Path

from course import catalog as catalog_module
from course import paths

NAV_TAG = "course-navigation"


def navigation_text(slugs: list[str], index: int) -> str:
    parts = []
    if index > 0:
        parts.append(f"[← {slugs[index - 1]}]({slugs[index - 1]}.ipynb)")
    parts.append("[contents](../README.md#chapters)")
    parts.append(f"[lesson](../lessons/{slugs[index]}.md)")
    if index + 1 < len(slugs):
        parts.append(f"[{slugs[index + 1]} →]({slugs[index + 1]}.ipynb)")
    return " · ".join(parts)


def _nav_cell(text: str, cell_id: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {"tags": [NAV_TAG]},
            "source": text}


def expected_cells(path: Path, slugs: list[str]) -> list[dict]:
    """The notebook's cells with navigation first and last."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    text = navigation_text(slugs, slugs.index(path.stem))
    body = [c for c in notebook["cells"] if NAV_TAG not in c.get("metadata", {}).get("tags", [])]
    return [_nav_cell(text, "navigation-top"), *body, _nav_cell(text, "navigation-bottom")]


def existing_notebooks() -> tuple[list[str], list[Path]]:
    slugs = [chapter.slug for chapter in catalog_module.load().chapters]
    notebooks = [paths.NOTEBOOKS / f"{slug}.ipynb" for slug in slugs]
    present = [nb for nb in notebooks if nb.exists()]
    return [nb.stem for nb in present], present


def update() -> list[Path]:
    slugs, notebooks = existing_notebooks()
    changed = []
    for path in notebooks:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        cells = expected_cells(path, slugs)
        if _sources(cells) != _sources(notebook["cells"]):
            notebook["cells"] = cells
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n",
                            encoding="utf-8")
            changed.append(path)
    return changed


def _sources(cells: list[dict]) -> list[str]:
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]


if __name__ == "__main__":
    for path in update():
        print(f"updated {path.relative_to(paths.ROOT)}")
