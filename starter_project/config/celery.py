"""The project's Celery app: the worker (`celery -A config worker`) runs the shop's tasks.

Celery finds the app through this module: `-A config` imports `config.celery`
and uses the `app` it defines.
"""

# TODO(06.1): create the Celery app here, named after the project: it must read its settings
# from Django's settings (those that start with CELERY_) and find the tasks of every
# installed app. Make sure Django loads it too (config/__init__.py), so that sending a task
# from a view uses this app's broker.
