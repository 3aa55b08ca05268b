"""The project package: settings, URLs and the app server entry points."""

# TODO(06.1): import the Celery app here, so it is set up whenever Django starts.
