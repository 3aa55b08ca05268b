"""The ``python3 -m course`` command line: one verb per learner, instructor or maintainer task.

Argument parsing is standard library only, so ``--help`` works before
``.venv`` exists; each verb then runs inside ``.venv``.
"""
