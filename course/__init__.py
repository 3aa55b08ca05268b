"""Django Under Load: the course tooling.

Run it as ``python3 -m course <verb>``. In a notebook::

    from course import exercise
    exercise("01.1").check()

This module stays importable with the standard library alone, so the
bootstrap can run before ``.venv`` exists.
"""

from __future__ import annotations

from typing import Any

__all__ = ["exercise", "setup_django"]


def exercise(exercise_id: str) -> Any:
    """Return the notebook handle for an exercise (``.check()``, ``.hint()``, ``.solution()``)."""
    from course.notebook import exercise as _exercise

    return _exercise(exercise_id)


def setup_django(**kwargs: Any) -> Any:
    """Set Django up for a notebook kernel; see :func:`course.notebook.setup_django`."""
    from course.notebook import setup_django as _setup

    return _setup(**kwargs)
