"""Settings the graders run under: the target project's base settings, kept clean.

The target project is the learner's ``starter_project/`` unless
``COURSE_TARGET_DIR`` names another state (a reference build). Nothing that
adds queries or time (debug toolbar, profilers) is active while grading.
"""

import os
import sys
import tempfile
from pathlib import Path

from django.conf import global_settings

TARGET_DIR = Path(
    os.environ.get("COURSE_TARGET_DIR")
    or Path(__file__).resolve().parent.parent / "starter_project"
)
if str(TARGET_DIR) not in sys.path:
    sys.path.insert(0, str(TARGET_DIR))

from config.settings.base import *  # noqa: E402,F403
from config.settings.base import DATABASES, INSTALLED_APPS, MIDDLEWARE  # noqa: E402

DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
_TOOLS = ("debug_toolbar", "pyinstrument", "django_extensions")
INSTALLED_APPS = [app for app in INSTALLED_APPS if not app.startswith(_TOOLS)]
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith(_TOOLS)]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Graders that render pages in this process need no collectstatic: {% static %} names the files
# as they are (chapter 07's graders run the production settings in a server of their own).
STORAGES = {
    **globals().get("STORAGES", global_settings.STORAGES),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if os.environ.get("COURSE_GRADING_SMTP_PORT"):  # a Celery worker started by a grader
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = "127.0.0.1"
    EMAIL_PORT = int(os.environ["COURSE_GRADING_SMTP_PORT"])

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: a Celery worker started by a grader (another process) must see the
    # test database.
    _RESULTS = os.environ.get("COURSE_RESULTS")
    _FOLDER = Path(_RESULTS).parent if _RESULTS else Path(tempfile.gettempdir())
    DATABASES["default"]["TEST"] = {"NAME": str(_FOLDER / f"grading-{os.getpid()}.sqlite3")}
else:
    # One test database per grading process: several may run at once on one server.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
for _alias, _database in DATABASES.items():
    if _alias != "default":  # a read replica (11.4): in tests, the test database itself
        _database["TEST"] = {"MIRROR": "default"}
