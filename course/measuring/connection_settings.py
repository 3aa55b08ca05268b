"""A project's production settings with its database connections set up as
``COURSE_CONNECTIONS`` says (JSON: keys of the ``DATABASES["default"]`` entry, over
Django's defaults; unset: the project's own), and ``/course-query/?seconds=S`` ahead of its
URLs (``course.measuring.connection_urls``). Served by :mod:`course.measuring.connections`.
"""

import json
import os

from config.settings.production import *  # noqa: F403
from config.settings.production import DATABASES

_setup = json.loads(os.environ.get("COURSE_CONNECTIONS") or "null")
if _setup is not None:
    _own = DATABASES["default"]
    _options = {key: value for key, value in _own.get("OPTIONS", {}).items()
                if key not in ("pool", "options")}  # the project's own choices, taken away
    DATABASES = {"default": {**_own, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, **_setup,
                             "OPTIONS": {**_options, **_setup.get("OPTIONS", {})}}}

ROOT_URLCONF = "course.measuring.connection_urls"
