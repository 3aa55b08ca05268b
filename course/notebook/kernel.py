"""Set Django up inside a Jupyter kernel, with the services the chapter needs running.

    from course import setup_django
    project = setup_django(chapter="05")
"""

from __future__ import annotations

import os
from pathlib import Path

from course.project import runtime


def setup_django(target: Path | None = None, settings: str = runtime.GRADING_SETTINGS,
                 chapter: str | None = None) -> Path:
    """Configure Django for this kernel, against the learner's project by default.

    The settings are the graders' clean ones, on the database ``course lab``
    seeded, so notebook numbers match what the checks measure. With ``chapter``,
    the services that chapter declares in the catalog are started first (and
    Redis and SMTP, which always run). Returns the project directory.
    """
    # A Jupyter kernel runs an event loop; the ORM refuses to run synchronously inside one
    # unless told it is safe. This is for notebooks only, never for the project's settings.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if chapter is not None:
        from course import catalog, services

        services.up(catalog.load().chapter(chapter).services, quiet=True)
    return runtime.configure(target, settings)
