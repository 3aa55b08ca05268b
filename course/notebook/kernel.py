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

        services.up(catalog.load().chapter(chapter).all_services, quiet=True)
    project = runtime.configure(target, settings)
    _catch_up_migrations()
    return project


def _catch_up_migrations() -> None:
    """Apply the project's migrations the database lacks (a course update added a model field,
    or the learner made one), as ``course lab`` does when it starts, and say which."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    missing = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not missing:
        return
    names = [f"{migration.app_label}.{migration.name}" for migration, _ in missing]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    call_command("migrate", interactive=False, verbosity=0)
    print(f"course: your shop's database lacked {shown}: migrated it.")
