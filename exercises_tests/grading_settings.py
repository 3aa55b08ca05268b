"""Settings the graders run under: the target project's base settings, kept clean.

The target project is the learner's ``starter_project/`` unless
``COURSE_TARGET_DIR`` names another state (a reference build). Nothing that
adds queries or time (debug toolbar, profilers) is active while grading.
"""

import os
import sys
from pathlib import Path

TARGET_DIR = Path(
    os.environ.get("COURSE_TARGET_DIR")
    or Path(__file__).resolve().parent.parent / "starter_project"
)
if str(TARGET_DIR) not in sys.path:
    sys.path.insert(0, str(TARGET_DIR))

from config.settings.base import *  # noqa: E402,F403
from config.settings.base import INSTALLED_APPS, MIDDLEWARE  # noqa: E402

DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
_TOOLS = ("debug_toolbar", "pyinstrument", "django_extensions")
INSTALLED_APPS = [app for app in INSTALLED_APPS if not app.startswith(_TOOLS)]
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith(_TOOLS)]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
