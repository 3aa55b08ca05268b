"""The arithmetic of the floor comparison and the reading of what redis-py wrote (09.5)."""

from __future__ import annotations

from redis.connection import PythonRespSerializer

from course.measuring.floor import paired
from course.measuring.middleware_effects import commands_in


def run(rate: float, *, p95: float | None = 10.0, failures: int = 0) -> dict:
    return {"req_per_s": rate, "p95_ms": p95, "failures": failures, "requests": int(rate)}


def test_paired_takes_the_median_of_the_pairs_ratios_not_the_ratio_of_medians() -> None:
    # A burst of other work in the second pair slows both sides: that pair's ratio holds.
    page = [run(500), run(100), run(600)]
    floor = [run(1000), run(150), run(1000)]
    found = paired(page, floor)
    assert found["vs_floor"] == 0.6  # ratios 0.5, 0.67, 0.6
    assert found["page_req_per_s"] == 500 and found["floor_req_per_s"] == 1000


def test_paired_skips_a_floor_that_served_nothing_and_adds_up_failures() -> None:
    found = paired([run(300, failures=2), run(400, p95=None)], [run(0), run(800)])
    assert found["vs_floor"] == 0.5
    assert found["failures"] == 2
    assert found["page_p95_ms"] == 5.0  # a run with no timings counts as 0


def test_commands_in_reads_single_commands_and_pipelines() -> None:
    pack = PythonRespSerializer(
        6000, lambda value: value if isinstance(value, bytes) else str(value).encode()).pack
    single = pack("GET", "shop:1:pending-orders")
    pipeline = [*pack("GET", "shop:1:copy"), *pack("INCRBY", "shop:1:page_views", "1")]
    found = commands_in([single, pipeline, b"".join(pack("EXISTS", "k"))])
    assert found == {"GET": 2, "INCRBY": 1, "EXISTS": 1}
