"""Production settings: what the shop's servers run (see config/wsgi.py)."""

from .base import *  # noqa: F403
from .base import LOGGING, env

# TODO(12.2): platforms write their settings into the environment as text, and most write a
# switch as DJANGO_DEBUG=false or DJANGO_DEBUG=0: a shop deployed so shows every visitor who
# meets an error a traceback, with the code, the request and the settings.
# Set DJANGO_DEBUG=1 to see what went wrong.
DEBUG = bool(env("DJANGO_DEBUG", ""))

# TODO(12.1): every value here has a default, and so have the database's and Redis's
# addresses in base.py: a server started without its environment (a variable misspelt in the
# platform's settings, a secret not made yet) starts all the same, signing sessions with the
# development key written in base.py, answering as shop.example.com, on an empty SQLite file
# beside manage.py and a Redis on its own machine. Refuse to start instead, with one line
# that names what is missing.
# Comma-separated, e.g. DJANGO_ALLOWED_HOSTS=shop.example.com,www.shop.example.com
ALLOWED_HOSTS = [
    host.strip() for host in env("DJANGO_ALLOWED_HOSTS", "shop.example.com").split(",")
    if host.strip()
]

# The load balancer in front of the app servers handles HTTPS.
CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in ALLOWED_HOSTS]
# TODO(12.4): the balancer ends TLS, but nothing here says visitors must use it: one who
# types the address without https:// stays on plain http, where the session and CSRF
# cookies travel in clear, and so does every later visit of that browser
# (`manage.py check --deploy` lists what is missing).

# TODO(11.3): behind the load balancer every request reaches Django over plain http and from
# the balancer's address: the links the API builds say http:// to visitors on https, and
# the request lines (10.2) never say who asked. The balancer says both (X-Forwarded-Proto,
# X-Forwarded-For); believe it, and only it (its addresses: TRUSTED_PROXIES).

# TODO(08.5): on PostgreSQL each request opens a new connection to the database and closes
# it at its end; and a query that runs away holds its worker for as long as it runs, and
# goes on running in the database after the worker is killed.

# TODO(09.3): browsers ask again about every page each time they show it (chapter 07), and
# each time they get the whole page back, even when nothing on it has changed.

# Server errors are mailed to the team.
ADMINS = [("Shop team", env("DJANGO_ADMIN_EMAIL", "shop-team@shop.example"))]
SERVER_EMAIL = "Under Load Shop errors <errors@shop.example>"

# TODO(10.2): lines of prose on standard error, and nothing about the requests themselves:
# one JSON line per request on standard output (method, path, status, duration, queries,
# request id), and the request's id on every line logged while it runs.
LOGGING = {
    **LOGGING,
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
}

# TODO(10.7): a server error reaches the team as one mail per error (ADMINS above): no
# count, no grouping, nothing to search, and nothing at all from a Celery worker. Report
# errors to the error tracker whose address the platform gives in SENTRY_DSN, each with the
# id of the request (or task) it happened in, and nothing personal.
