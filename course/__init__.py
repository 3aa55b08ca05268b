"""Django Under Load: the course tooling.

Run it as ``python3 -m course <verb>``. In a notebook::

    from course import exercise, setup_django
    setup_django(chapter="01")
    exercise("01.1").check()

    from course import measure, bench, plans   # measuring tools, by their short names

This module stays importable with the standard library alone, so the
bootstrap can run before ``.venv`` exists. The package is layered; each
subpackage may import only the ones below it (``course/tests/test_layout.py``
checks this):

    cli, suite          the command line and ``course test``
    notebook, setup     Jupyter helpers; bootstrap, doctor, lab
    grading, measuring  run the graders; measure pages, plans, load
    project             the starter and the reference states, apply/reset
    services            real servers under supervisord (plug-ins)
    paths, envfile, catalog, statefiles, text
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["exercise", "setup_django"]

# Short names a notebook uses: `from course import measure` is course.measuring.measure.
_SHORT_NAMES = {
    "measure": "course.measuring.measure",
    "plans": "course.measuring.plans",
    "bench": "course.measuring.bench",
    "load": "course.measuring.load",
    "queueing": "course.measuring.queueing",
    "pages": "course.measuring.pages",
    "appservers": "course.measuring.appservers",
    "connections": "course.measuring.connections",
    "middleware": "course.measuring.middleware",
    "middleware_effects": "course.measuring.middleware_effects",
    "floor": "course.measuring.floor",
    "metrics_watch": "course.measuring.metrics_watch",
    "health_probe": "course.measuring.health_probe",
    "error_watch": "course.measuring.error_watch",
    "traces": "course.measuring.traces",
    "balancing": "course.measuring.balancing",
    "shared_state": "course.measuring.shared_state",
    "replicas": "course.measuring.replicas",
    "manifests": "course.measuring.manifests",
    "connection_budget": "course.measuring.connection_budget",
    "production_settings": "course.measuring.production_settings",
    "layers": "course.measuring.layers",
    "regressions": "course.measuring.regressions",
    "workflow": "course.measuring.workflow",
    "full_bench": "course.measuring.full_bench",
}


def exercise(exercise_id: str) -> Any:
    """Return the notebook handle for an exercise (``.check()``, ``.hint()``, ``.solution()``)."""
    from course.notebook.handles import exercise as _exercise

    return _exercise(exercise_id)


def setup_django(**kwargs: Any) -> Any:
    """Set Django up for a notebook kernel; see :func:`course.notebook.kernel.setup_django`."""
    from course.notebook.kernel import setup_django as _setup

    return _setup(**kwargs)


def __getattr__(name: str) -> Any:
    if name in _SHORT_NAMES:
        return importlib.import_module(_SHORT_NAMES[name])
    raise AttributeError(f"module 'course' has no attribute {name!r}")
