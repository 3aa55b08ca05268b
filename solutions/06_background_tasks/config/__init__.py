"""The project package: settings, URLs and the app server entry points."""

# Load the Celery app whenever Django starts, so @shared_task uses it (and its broker).
from .celery import app as celery_app

__all__ = ("celery_app",)
