"""Files the course has moved: where a learner's earlier work in them now belongs.

When the starter's layout changes (``shop/views.py`` became the ``shop/views/``
package, one module per page), a learner's checkout may still hold the old
file with their work in it, next to the new ones. Python then imports the new
package and never the old file, so that work silently stops counting. The
tooling names such files wherever it matters (``check``, ``apply``, ``reset``,
``solution``) and never deletes one without a backup.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from course import paths


@dataclass(frozen=True)
class Retired:
    old: str  # relative to starter_project/
    new: str  # where its code lives now
    exercises: tuple[str, ...]  # exercises whose code was in it


RETIRED = (
    Retired("shop/views.py", "shop/views/ (one module per page)",
            ("02.1", "02.2", "02.3", "02.4", "04.1", "05.2")),
    Retired("shop/api.py", "shop/api/ (products.py and orders.py)", ("02.7", "04.2")),
)


def leftovers(starter: Path | None = None) -> list[Retired]:
    """Moved files still present in the learner's project."""
    starter = starter or paths.STARTER
    return [item for item in RETIRED if (starter / item.old).is_file()]


def notice(item: Retired, exercise_ids: set[str] | None = None) -> str | None:
    """One line for the learner, or None when ``exercise_ids`` are not concerned."""
    concerned = [e for e in item.exercises if exercise_ids is None or e in exercise_ids]
    if not concerned:
        return None
    return (f"starter_project/{item.old} is from the course's earlier layout and the shop no "
            f"longer uses it: its code now lives in {item.new}. Move your work on "
            f"{', '.join(concerned)} there (`python3 -m course solution "
            f"{concerned[0]}` shows where each change goes), then delete {item.old}.")
