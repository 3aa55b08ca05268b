"""Settings shared by every environment.

Values come from the environment first, then from the course's `.course/env`
file (written by `python3 -m course services up`), then from defaults.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _find_state_dir():
    for folder in [BASE_DIR, *BASE_DIR.parents]:
        if (folder / ".course").is_dir():
            return folder / ".course"
    return None


STATE_DIR = _find_state_dir()


def _read_env_file():
    path = os.environ.get("COURSE_ENV_FILE") or (STATE_DIR / "env" if STATE_DIR else None)
    values = {}
    if path and Path(path).exists():
        for line in Path(path).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


_ENV_FILE = _read_env_file()


def env(name, default=None):
    return os.environ.get(name, _ENV_FILE.get(name, default))


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

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
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


def _database():
    if env("DATABASE_URL"):
        return dj_database_url.parse(env("DATABASE_URL"))
    if env("COURSE_DB") == "postgres":
        if not env("POSTGRES_URL"):
            raise RuntimeError(
                "COURSE_DB=postgres but no POSTGRES_URL: run `python3 -m course services up --postgres`"
            )
        return dj_database_url.parse(env("POSTGRES_URL"))
    default_path = (STATE_DIR or BASE_DIR) / "shop.sqlite3"
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env("COURSE_SQLITE_PATH", str(default_path)),
    }


DATABASES = {"default": _database()}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = (STATE_DIR or BASE_DIR) / "static_root"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env("SMTP_HOST", "127.0.0.1")
EMAIL_PORT = int(env("SMTP_PORT", "1025"))
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = "Shop <orders@shop.example>"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
