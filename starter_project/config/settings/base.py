"""Settings shared by every environment.

Values come from real environment variables first, then from the `.course/env`
file that `python3 -m course services up` writes (the addresses of Redis,
PostgreSQL and the SMTP server), then from the defaults below.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

# starter_project/, the folder that holds manage.py.
BASE_DIR = Path(__file__).resolve().parent.parent.parent


def find_state_dir(start):
    """The first `.course/` folder found walking up from `start`, or None."""
    for folder in [start, *start.parents]:
        if (folder / ".course").is_dir():
            return folder / ".course"
    return None


def read_env_file(path):
    """`KEY=value` lines of an env file as a dict; blank lines and `#` comments are skipped."""
    values = {}
    if path is None or not Path(path).is_file():
        return values
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


STATE_DIR = find_state_dir(Path(__file__).resolve().parent)
ENV_FILE = os.environ.get("COURSE_ENV_FILE") or (STATE_DIR / "env" if STATE_DIR else None)
_FILE_VALUES = read_env_file(ENV_FILE)


def env(name, default=None):
    """A setting from the environment, else from the env file, else `default`."""
    if name in os.environ:
        return os.environ[name]
    return _FILE_VALUES.get(name, default)


SECRET_KEY = env("DJANGO_SECRET_KEY", "django-insecure-shop-development-key-change-me")
DEBUG = False
ALLOWED_HOSTS = []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "shop",
]

# TODO(07.2): behind gunicorn, nothing serves /static/: the production pages load without their
# styles and scripts. Serve them from the app, compressed (brotli and gzip).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # TODO(09.1): every request passes through each middleware here, on the way in and on the
    # way out. Keep what the shop and its security need in production, and only that.
    # Picks each visitor's language (from the browser's Accept-Language) for translations.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "shop.middleware.ShopStatusMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"


# Database: DATABASE_URL wins; COURSE_DB=postgres uses the course's PostgreSQL;
# otherwise a SQLite file in .course/ (next to manage.py outside the course).
def database_settings():
    if env("DATABASE_URL"):
        return dj_database_url.parse(env("DATABASE_URL"))
    if env("COURSE_DB") == "postgres":
        if not env("POSTGRES_URL"):
            raise ImproperlyConfigured(
                "COURSE_DB=postgres but POSTGRES_URL is not set: "
                "run `python3 -m course services up --postgres`"
            )
        return dj_database_url.parse(env("POSTGRES_URL"))
    default_path = (STATE_DIR or BASE_DIR) / "shop.sqlite3"
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env("COURSE_SQLITE_PATH", str(default_path)),
        # Take the write lock when a transaction starts: two transactions that read, then
        # write, would otherwise fail at once with "database is locked" instead of waiting.
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
    }


DATABASES = {"default": database_settings()}
# TODO(11.4): every query goes to the one PostgreSQL, the primary, though nearly every
# request only reads. `services up replica` starts a copy of it that takes reads
# (DATABASE_REPLICA_URL), a moment behind; a visitor who has just written must still read it.
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# TODO(07.4): with a CDN in front, the pages must name the files at the CDN's address: read
# STATIC_URL from the environment (keeping "static/" when it is not set).
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where `manage.py collectstatic` gathers every static file for the servers (a release step).
STATIC_ROOT = env("STATIC_ROOT", str((STATE_DIR or BASE_DIR) / "static_root"))
# Files uploaded through the site (product pictures): where they are kept, and their address.
# TODO(07.5): on this server's disk: a second app server cannot see them, a new release loses
# them, and in production nothing serves them. Keep them in the course's object store
# (`python3 -m course services up objectstore` writes its address and keys, AWS_*, to the
# environment), at addresses browsers can keep.
MEDIA_ROOT = env("MEDIA_ROOT", str((STATE_DIR or BASE_DIR) / "media"))
MEDIA_URL = "media/"

# TODO(07.1): files keep their names, so browsers cannot keep them for long (a deploy would not
# reach them). Give every collected file a name with a hash of its content.

# TODO(05.1): a cache in each process's memory is neither shared by the app servers nor
# kept across restarts. Use the course's Redis (REDIS_URL in the environment).
# TODO(05.7): and when that Redis is down, pages must still answer (slower), not fail.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    }
}
# TODO(05.6): every request that carries a session cookie reads the session from the database.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env("SMTP_HOST", "127.0.0.1")
EMAIL_PORT = int(env("SMTP_PORT", "1025"))
DEFAULT_FROM_EMAIL = "Under Load Shop <orders@shop.example>"
# TODO(06.4): a mail server that accepts the connection and then hangs holds the sender (a
# request, or a worker's process) forever, and nothing is ever retried.

# Files made by report jobs (shop/report_files.py).
SHOP_REPORTS_DIR = env("SHOP_REPORTS_DIR", str((STATE_DIR or BASE_DIR) / "reports"))
# Seconds a report job waits at each progress step: 0 in production. Set it (for example
# SHOP_REPORT_PAUSE=1 in .course/env) to watch the progress of a small shop's report.
SHOP_REPORT_PAUSE = float(env("SHOP_REPORT_PAUSE", "0"))

# Failed sign-ins allowed from one address within SIGN_IN_LOCKOUT_SECONDS; beyond them, that
# address is refused until its oldest failure is that old (shop/sign_in_limit.py).
SIGN_IN_FAILURES_ALLOWED = int(env("SHOP_SIGN_IN_FAILURES_ALLOWED", "5"))
SIGN_IN_LOCKOUT_SECONDS = int(env("SHOP_SIGN_IN_LOCKOUT_SECONDS", "900"))

# Background tasks (chapter 06).
# TODO(06.1): Celery's broker and result store: the course's Redis, at CELERY_BROKER_URL and
# CELERY_RESULT_BACKEND in the environment.
# How long Redis waits before it hands a task that a worker took but never acknowledged (the
# worker died) to another worker. Keep it above your longest task; the graders shorten it.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(env("CELERY_VISIBILITY_TIMEOUT", "3600")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# The carrier's shipping-quote service (the course runs one; its address is in the environment).
SHIPPING_QUOTES_URL = env("SHIPPING_QUOTES_URL", "http://127.0.0.1:8130").rstrip("/")

# The marketing team's analytics collector (the course runs one): the trending page tells it
# of every visit. Empty: no events are sent.
ANALYTICS_URL = env("ANALYTICS_URL", "").rstrip("/")

# `manage.py test` runs the shop's tests with caches of their own (config/testing.py), never
# the Redis the running shop uses.
TEST_RUNNER = "config.testing.IsolatedCachesRunner"
