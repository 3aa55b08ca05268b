"""The project's production settings, with views that take as long as they are asked to
(``timed_urls``): graders read what gunicorn logs about a request's time, which worker
answered, and what a long query does."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "timed_urls"
