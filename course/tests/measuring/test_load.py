"""gunicorn really serves, locust really loads it, and the numbers come back."""

from __future__ import annotations

from course.measuring import load


def test_the_floor_under_load() -> None:
    with load.serve_floor(workers=1) as base:
        result = load.locust(base, "/", users=2, seconds=2)
    assert result["requests"] > 10 and result["failures"] == 0
    assert result["req_per_s"] > 0
    assert result["median_ms"] is not None and result["p95_ms"] is not None
    assert 0 < result["median_ms"] <= result["p95_ms"]


def test_a_missing_page_counts_as_failures() -> None:
    with load.serve_floor(workers=1) as base:
        result = load.locust(base, "/no-such-page/", users=2, seconds=2)
    assert result["requests"] > 0 and result["failures"] == result["requests"]
