"""gunicorn's settings for the shop's app servers.

gunicorn reads this file when it starts in this folder (``gunicorn config.wsgi``); the
command line wins over it. Every setting: https://docs.gunicorn.org/en/stable/settings.html
"""

wsgi_app = "config.wsgi:application"
bind = "127.0.0.1:8000"

# One line per request on stdout, where the platform collects logs.
accesslog = "-"

# TODO(08.1): one worker (gunicorn's default) serves one request at a time on one core;
# the timeouts, keep-alive and worker recycling are gunicorn's defaults, and the access log
# does not say how long each request took.
