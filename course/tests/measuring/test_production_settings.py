"""The wrong starts notebook 12 tries, and how a table of them is counted."""

from __future__ import annotations

from course.measuring import production_settings


def test_every_required_variable_is_taken_away_once_and_the_database_by_every_name() -> None:
    cases = production_settings.wrong_starts()
    assert cases["everything given"] == {}
    for name in production_settings.REQUIRED:
        assert cases[f"{name} missing"][name] is None
    assert set(cases["DATABASE_URL missing"]) == set(production_settings.DATABASE_NAMES)
    assert cases["DJANGO_DEBUG=false"] == {"DJANGO_DEBUG": "false"}


def test_a_start_is_stopped_when_refused_or_when_off_means_off() -> None:
    rows = [
        {"case": "everything given", "a": "starts", "b": "starts"},
        {"case": "REDIS_URL missing", "a": "starts", "b": "refused: REDIS_URL is not set"},
        {"case": "DJANGO_DEBUG=false", "a": "starts, DEBUG on", "b": "starts"},
    ]
    assert production_settings.refused_counts(rows, ["a", "b"]) == [
        {"name": "a", "wrong starts stopped": 0, "of": 2},
        {"name": "b", "wrong starts stopped": 2, "of": 2},
    ]


def test_an_error_page_is_told_apart_from_what_stands_in_for_it() -> None:
    kind = production_settings.error_page_kind
    assert kind('<h1>Under Load Shop</h1><a href="/products/">back</a>') == "the shop's own page"
    assert kind("").startswith("an empty answer")
    assert kind("<html><title>Internal Server Error</title></html>").startswith(
        "the app server's bare")
    assert kind("<h1>Not Found</h1><p>The requested resource …</p>").startswith(
        "Django's default page")
    assert kind("<h1>Under Load Shop</h1>").startswith("a page without")
