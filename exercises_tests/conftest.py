"""Fixtures shared by the graders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from background import MailServer, Workers
from grading_env import graders_env
from grading_redis import emptied_redis
from grading_settings import TARGET_DIR
from project_runner import ProjectRunner


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    """The test database is a copy of a migrated template kept while the target's migrations
    do not change (``course.grading.testdb``): what running them builds, without the wait."""
    from course.grading.testdb import test_databases

    with django_db_blocker.unblock(), test_databases(TARGET_DIR):
        yield


@pytest.fixture(scope="session")
def target_dir() -> Path:
    """The project being graded (the learner's starter or a reference state)."""
    return TARGET_DIR


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> ProjectRunner:
    """Runs real requests through the project under dev or production settings."""
    return ProjectRunner(target=TARGET_DIR, workdir=tmp_path_factory.mktemp("project"))


def clear_caches() -> None:
    """Empty every configured cache: new data must not be hidden by old pages."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()


@pytest.fixture(autouse=True)
def caching_off_unless_asked(request: pytest.FixtureRequest) -> None:
    """Graders count the queries a page runs when nothing is cached, so a cache added in a
    later chapter cannot hide (or fake) an earlier chapter's work. Tests marked
    ``real_cache`` use the project's own cache settings."""
    if request.node.get_closest_marker("real_cache"):
        return
    settings = request.getfixturevalue("settings")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


@pytest.fixture
def redis_db():
    """The course's Redis database for this grading run (15, or the run's own slot: see
    course/grading/slots.py), empty at the start and end of a test."""
    client = emptied_redis(os.environ.get("REDIS_URL"), "the graders' Redis (REDIS_URL)")
    yield client
    client.flushdb()


@pytest.fixture
def shop(db):
    """Seed the shop in the test database: ``shop(orders=40)`` or ``shop(scale="tiny")``."""
    from shop.seed import seed_shop

    def make(scale: str = "tiny", **counts: int) -> dict[str, int]:
        made = seed_shop(scale, **counts)
        clear_caches()
        return made

    return make


# Real Celery workers, their broker and an SMTP server of the grader's own (chapters 06, 07) --

@pytest.fixture
def broker():
    """The graders' broker and result store (Redis database 13), empty before and after."""
    client = emptied_redis(_graders_broker(), "the graders' Celery broker")
    yield client
    client.flushdb()


def _graders_broker() -> str | None:
    """The broker the course wrote for the graders (a project may not read it yet)."""
    return graders_env().get("CELERY_BROKER_URL")


@pytest.fixture
def mail_server(tmp_path):
    server = MailServer(tmp_path / "smtp").start()
    yield server
    server.stop()


@pytest.fixture
def workers(target_dir, tmp_path, mail_server, broker, settings):
    """Start workers with ``workers.start()``; the test process mails and writes reports where
    they do."""
    reports = tmp_path / "reports"
    # The workers cache what the project caches (the sales report since 05.8) in the graders'
    # Redis: start each test with it empty, so nothing a previous test cached is served.
    cache = emptied_redis(os.environ.get("REDIS_URL"), "the graders' cache (REDIS_URL)")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = mail_server.port
    settings.SHOP_REPORTS_DIR = str(reports)
    pool = Workers(target_dir, tmp_path, mail_server, reports)
    yield pool
    pool.stop_all()
    cache.flushdb()
