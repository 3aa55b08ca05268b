"""The arithmetic that turns scrapes of /metrics into a dashboard's rows (chapter 10)."""

from __future__ import annotations

import math

import pytest

from course.measuring.metrics_watch import LATENCY, RESPONSES, Scrape, over_time, quantile

VIEW = "shop:product_detail"


def test_quantile_interpolates_inside_the_bucket_it_falls_in() -> None:
    buckets = [(0.1, 50.0), (0.5, 90.0), (1.0, 100.0), (math.inf, 100.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.1)  # the 50th of 100 ends bucket one
    assert quantile(0.7, buckets) == pytest.approx(0.3)  # halfway through (0.1, 0.5]
    assert quantile(0.95, buckets) == pytest.approx(0.75)
    assert quantile(0.25, buckets) == pytest.approx(0.05)  # the first bucket starts at 0


def test_quantile_of_an_empty_histogram_or_past_the_last_bound() -> None:
    assert quantile(0.5, []) is None
    assert quantile(0.5, [(0.1, 0.0), (math.inf, 0.0)]) is None
    assert quantile(0.99, [(0.1, 10.0), (math.inf, 20.0)]) == 0.1


def _scrape(at: float, ok: float, failed: float, buckets: dict[float, float],
            queries: tuple[float, float] | None = None) -> Scrape:
    samples = [
        (f"{RESPONSES}_total", {"view": VIEW, "status": "200", "method": "GET"}, ok),
        (f"{RESPONSES}_total", {"view": VIEW, "status": "500", "method": "GET"}, failed),
        (f"{RESPONSES}_total", {"view": "other", "status": "200", "method": "GET"}, 1000.0),
    ]
    samples += [(f"{LATENCY}_bucket", {"view": VIEW, "method": "GET", "le": str(bound)}, count)
                for bound, count in buckets.items()]
    if queries:
        samples += [("shop_request_queries_count", {"view": VIEW}, queries[0]),
                    ("shop_request_queries_sum", {"view": VIEW}, queries[1])]
    return Scrape(at, 200, samples)


def test_over_time_reads_the_change_between_scrapes() -> None:
    first = _scrape(10.0, 100, 0, {0.1: 100, 0.5: 100, math.inf: 100}, (100, 300))
    second = _scrape(12.0, 180, 20, {0.1: 150, 0.5: 200, math.inf: 200}, (200, 1300))
    [row] = over_time([first, second], VIEW)
    assert row["second"] == 2.0
    assert row["req_per_s"] == 50.0  # 100 answers in 2 s, the other view's left out
    assert row["error_share"] == 0.2  # 20 of 100
    assert row["p50_ms"] == pytest.approx(100.0)  # 50 of 100 fell under 0.1 s
    assert row["p95_ms"] == pytest.approx(460.0)
    assert row["queries_per_request"] == 10.0  # 1,000 queries by 100 requests


def test_over_time_without_a_queries_histogram_or_traffic() -> None:
    quiet = _scrape(0.0, 5, 0, {0.1: 5, math.inf: 5})
    [row] = over_time([quiet, _scrape(1.0, 5, 0, {0.1: 5, math.inf: 5})], VIEW)
    assert row["req_per_s"] == 0.0 and row["p50_ms"] is None and row["error_share"] == 0.0
    assert "queries_per_request" not in row


def test_summary_takes_medians_per_release_and_the_rate_against_the_first() -> None:
    from course.measuring.metrics_watch import summary

    rows = [{"release": "before", "req_per_s": rate, "p50_ms": 10.0, "p95_ms": 20.0,
             "error_share": 0.0, "queries_per_request": 5.0} for rate in (90.0, 100.0, 110.0)]
    rows += [{"release": "after", "req_per_s": rate, "p50_ms": 15.0, "p95_ms": None,
              "error_share": 0.0, "queries_per_request": 9.0} for rate in (70.0, 80.0)]
    before, after = summary(rows)
    assert (before["name"], before["seconds"], before["req_per_s"]) == ("before", 3, 100.0)
    assert before["rate_vs_first"] == 1.0
    assert after["req_per_s"] == 75.0 and after["rate_vs_first"] == 0.75
    assert after["p95_ms"] is None and after["queries_per_request"] == 9.0
