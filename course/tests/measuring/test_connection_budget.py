"""What a project's DATABASES let one server process hold, counted as the notebook counts it."""

from __future__ import annotations

from course.measuring.connection_budget import per_process

POSTGRES = "django.db.backends.postgresql"


def test_pools_add_up_and_their_size_defaults_as_psycopg_pool_does() -> None:
    assert per_process({
        "default": {"engine": POSTGRES, "max_age": 0, "pool": {"min_size": 1, "max_size": 4}},
        "replica": {"engine": POSTGRES, "max_age": 0, "pool": True},
    }) == (8, "default: a pool of 4; replica: a pool of 4")


def test_without_a_pool_the_settings_set_no_bound() -> None:
    count, words = per_process({
        "default": {"engine": POSTGRES, "max_age": 600, "pool": None},
        "replica": {"engine": POSTGRES, "max_age": 0, "pool": {"max_size": 2}}})
    assert count is None
    assert words == "default: one per request in flight, kept; replica: a pool of 2"


def test_sqlite_holds_no_server_connection() -> None:
    assert per_process({"default": {"engine": "django.db.backends.sqlite3", "max_age": 0,
                                    "pool": None}}) == (0, "")
