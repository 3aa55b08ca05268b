"""The project's production settings, with a view that takes as long as it is asked to
(``/course-wait/?seconds=0.3``): graders read what gunicorn logs about a request's time."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "timed_urls"
