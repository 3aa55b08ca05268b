"""Development settings: `python manage.py runserver` uses these."""

from .base import *  # noqa: F403
from .base import INSTALLED_APPS

DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

INSTALLED_APPS = [*INSTALLED_APPS, "django_extensions"]

# TODO(01.1): show django-debug-toolbar on every HTML page in development (and only here).

# TODO(01.3): let a developer profile any page with pyinstrument by adding ?profile to its URL (development only).
