"""The project started as a platform starts it: the ``web:`` line of its ``Procfile``, with
``PORT`` and ``WEB_CONCURRENCY`` set (chapters 08 to 11)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from project_runner import ProjectRunError


@contextmanager
def procfile_server(project, settings: str, workers: int, probe: str, *,
                    port: int | None = None, extra_env: dict[str, str | None] | None = None
                    ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The project started from its Procfile's web line under ``settings`` (on ``port``, a
    free one by default), once ``probe`` answers: its base URL and its process. ``extra_env``
    adds variables; one set to None is taken away."""
    from course.measuring import load, procfile

    try:  # what a release does before its servers start: the pages, and the error pages,
        # name their static files through the manifest it writes
        project.collect_static()
    except ProjectRunError:
        pass  # settings that cannot even collect: the server's own start says why
    env = {**project.env(settings, project.seeded_database()), **(extra_env or {})}
    env = {name: value for name, value in env.items() if value is not None}
    project.empty_cache()  # a page an earlier run cached under other settings (a CDN's
    # STATIC_URL in 07.4) must not be what this server answers
    started = False
    try:
        with procfile.serve(project.target, env, workers=workers, probe_path=probe,
                            within=30, port=port) as served:
            started = True
            yield served
    except load.LoadError as error:
        if started:  # the load, not the start, went wrong: say so as it is
            raise
        pytest.fail(f"started from the Procfile's web line, {error}. The command must listen "
                    "on the port in $PORT [hint 1]", pytrace=False)
