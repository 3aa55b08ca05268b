"""Development settings: `python manage.py runserver` uses these."""

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, MIDDLEWARE

DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

INSTALLED_APPS = [*INSTALLED_APPS, "django_extensions", "debug_toolbar"]

# The toolbar shows for requests from these addresses while DEBUG is True.
INTERNAL_IPS = ["127.0.0.1", "::1"]

MIDDLEWARE = [
    # First, so the profile covers every other middleware: add ?profile to any URL.
    "pyinstrument.middleware.ProfilerMiddleware",
    # As early as possible, but after middleware that encodes the response (none here).
    "debug_toolbar.middleware.DebugToolbarMiddleware",
    *MIDDLEWARE,
]
