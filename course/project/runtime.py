"""Set Django up inside this process for a project state (the learner's or a reference).

One process can hold one version of the shop: a measurement of another state
runs in a process of its own (``course.measuring.bench``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from course import paths

GRADING_SETTINGS = "grading_settings"


def configure(target: Path | None = None, settings: str = GRADING_SETTINGS) -> Path:
    """``django.setup()`` for ``target`` (default: the learner's project) under ``settings``.

    The default settings are the graders' clean ones (no toolbar or profiler adding
    work), so numbers measured here match what the checks measure. Returns the
    project directory.
    """
    import django

    target = Path(target or paths.STARTER)
    os.environ.setdefault("COURSE_TARGET_DIR", str(target))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings)
    for entry in (str(paths.EXERCISES_TESTS), str(target)):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    django.setup()
    return target
