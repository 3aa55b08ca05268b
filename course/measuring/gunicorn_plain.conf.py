"""gunicorn's defaults, on purpose: measurements and graders name this file with ``--config``.

They compare code (yours, a reference, the trivial view) under one server set-up given on
the command line, so a project's own ``gunicorn.conf.py`` (chapter 08) must not change it.
"""
