"""The project's Celery app: the worker (`celery -A config worker`) runs the shop's tasks.

Celery finds the app through this module: `-A config` imports `config.celery`
and uses the `app` it defines.
"""

import os

from celery import Celery

# The worker is a Django process like any other; a deployment sets the module explicitly.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("config")
# Every Django setting that starts with CELERY_ configures Celery: CELERY_BROKER_URL is broker_url.
app.config_from_object("django.conf:settings", namespace="CELERY")
# Import tasks.py of every installed app, once the apps are loaded.
app.autodiscover_tasks()
