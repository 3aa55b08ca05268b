"""The full bench's report: ratios first, each part's tables, charts, and a part that could
not run said as such. (The suite runs the real thing on small data: course/suite/parts.py.)"""

from __future__ import annotations

from pathlib import Path

from course.measuring import full_bench
from course.measuring.measure import PageMeasurement


def _page(name: str, queries: int, median: float) -> PageMeasurement:
    return PageMeasurement(name=name, url=f"/{name}/", status=200, queries=queries,
                           median_ms=median, p95_ms=median * 2, runs=5, bytes=2048)


def _sides() -> tuple[full_bench.Side, full_bench.Side]:
    starter = full_bench.Side("starter", Path("a"), pages=[
        _page("trending", 593, 270.0), _page("product list", 875, 224.0)])
    reference = full_bench.Side("reference", Path("b"), pages=[
        _page("trending", 7, 27.0), _page("product list", 5, 2.0)])
    for side, rate in ((starter, 40.0), (reference, 800.0)):
        side.load = {"trending": {"req_per_s": rate, "p95_ms": 1000 / rate, "failures": 0,
                                  "requests": 100, "median_ms": 500 / rate}}
        side.visits = {"first": {"requests": 6, "bytes": 90_000, "static requests": 5,
                                 "static bytes": 80_000},
                       "repeat": {"requests": 6 if side is starter else 2, "bytes": 10_000,
                                  "static requests": 4 if side is starter else 0,
                                  "static bytes": 5_000 if side is starter else 0}}
    starter.checks = {"passes": False, "warnings": 4, "which": "security.W004, security.W008"}
    reference.checks = {"passes": True, "warnings": 0, "which": "–"}
    return starter, reference


def test_ratios_say_which_way_is_better() -> None:
    assert full_bench._ratio(600, 6, higher_is_better=False) == "100.0× better"
    assert full_bench._ratio(40, 800, higher_is_better=True) == "20.0× better"
    assert full_bench._ratio(10, 20, higher_is_better=False) == "2.0× worse"
    assert full_bench._ratio(100, 102, higher_is_better=False) == "about the same"
    assert full_bench._ratio(5_000, 0, higher_is_better=False) == "down to 0"
    assert full_bench._ratio(0, 0, higher_is_better=False) == "the same"
    assert full_bench._ratio(None, 3, higher_is_better=True) == "–"


def test_the_summary_adds_up_the_pages_both_sides_measured() -> None:
    starter, reference = _sides()
    rows = {row["measure"]: row for row in full_bench.summary(starter, reference)}
    queries = rows["queries, 2 pages together"]
    assert (queries["starter"], queries["reference"]) == (1468, 12)
    assert rows["req/s under load, trending"]["ratio"] == "20.0× better"
    assert rows["static bytes, a repeat visit an hour on"]["ratio"] == "down to 0"
    assert rows["check --deploy warnings"]["reference"] == 0


def test_the_report_puts_the_ratios_first_and_draws_the_charts(tmp_path: Path) -> None:
    starter, reference = _sides()
    reference.problems["visits"] = "collectstatic failed: no STATIC_ROOT"
    drawn = full_bench.charts(starter, reference, tmp_path)
    assert set(drawn.values()) == {"queries.png", "median_ms.png", "req_per_s.png"}
    assert all((tmp_path / name).stat().st_size > 1000 for name in drawn.values())
    text = full_bench.markdown(starter, reference, drawn=drawn, took=12.0, data="SQLite",
                               repeat=5, users=8, seconds=5)
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections[0].startswith("## Ratios")
    assert "- reference, visits: collectstatic failed: no STATIC_ROOT" in text
    assert "![Queries per page](queries.png)" in text
    assert "| trending | 593 | 7 |" in text.replace(",", "")


def test_load_runs_use_the_paths_the_pages_were_found_at() -> None:
    starter, _ = _sides()
    starter.pages.append(_page("product detail", 12, 3.0))
    assert full_bench._load_paths(starter)["product detail"] == "/product detail/"
    assert full_bench._load_paths(full_bench.Side("x", Path("x"))) == {
        "product list": "/products/", "trending": "/trending/"}


def test_a_load_run_with_failed_requests_gets_no_ratio() -> None:
    starter, reference = _sides()
    starter.load["trending"]["failures"] = 100
    rows = {row["measure"]: row for row in full_bench.summary(starter, reference)}
    assert rows["req/s under load, trending"]["ratio"] == "– (failed: starter 100 of 100)"
