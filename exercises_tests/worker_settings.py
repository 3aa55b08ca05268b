"""A Celery worker's settings while graded (10.3): the project's production settings, plus the
graders' own task module (``grading_tasks``) among the modules the worker imports."""

from timed_settings import *  # noqa: F403

CELERY_IMPORTS = ["grading_tasks"]
