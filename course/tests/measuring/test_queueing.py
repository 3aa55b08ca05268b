"""The queueing measurements' arithmetic: medians, p95, ratios, the chart's shape."""

from __future__ import annotations

import time

from course.measuring.queueing import Run, comparison, timeline_chart


def _run(name: str, latencies: list[float], done: float | None = 2.0) -> Run:
    return Run(name, latencies, failures=0, wall_s=2.0, done_s=done,
               timeline=[(0.0, 0, 0), (0.5, 3, 0), (1.0, 1, 2), (1.5, 0, 3)])


def test_row_has_median_p95_and_throughput() -> None:
    row = _run("place order: yours", [float(n) for n in range(1, 21)]).row()
    assert row["requests"] == 20
    assert row["median_ms"] == 10.5
    assert row["p95_ms"] == 19.0  # the 19th of 20 sorted values
    assert row["req_per_s"] == 10.0
    assert row["all_done_s"] == 2.0


def test_comparison_pairs_yours_with_the_reference() -> None:
    runs = [_run("place order: yours", [1000.0, 1200.0]), _run("sales report: yours", [800.0]),
            _run("place order: reference 06", [10.0, 12.0]),
            _run("sales report: reference 06", [20.0], done=None)]
    rows = {row["name"]: row for row in comparison(runs)}
    assert rows["place order"]["median_ms_before"] == 1100.0
    assert rows["place order"]["median_ms_after"] == 11.0
    assert rows["place order"]["median_ratio"] == 100.0
    assert rows["sales report"]["all_done_s_after"] is None


def test_timeline_chart_has_a_panel_per_run() -> None:
    chart = timeline_chart([_run("place order: yours", [1.0]), _run("sales report: yours", [1.0])])
    assert len(chart.axes) == 2
    assert chart.axes[0].get_title() == "place order: yours"


class _FakeBroker:
    """Three messages waiting, one handed to a worker."""

    def llen(self, key: str) -> int:
        return 3

    def hlen(self, key: str) -> int:
        return 1


def test_live_line_shows_answers_queue_and_finished_work(monkeypatch, capsys) -> None:
    from course.measuring import queueing

    monkeypatch.setattr(queueing, "_broker", lambda flush=False: _FakeBroker())
    finished = iter(range(100))
    with queueing._Sampler(lambda: next(finished), label="place order (yours)", requests=2,
                           finished="emails delivered", live=True) as sampler:
        sampler.answered()
        time.sleep(0.7)
    out = capsys.readouterr().out
    lines = out.split("\r")
    assert lines[0] == "" and len(lines) >= 3, "rewritten in place, more than once"
    assert lines[-1].startswith(
        "place order (yours): 1/2 answered · 4 in the broker · emails delivered: ")
    assert out.endswith("\n")
    assert [pending for _, pending, _ in sampler.samples] == [4] * len(sampler.samples)


def test_quiet_sampler_prints_nothing(monkeypatch, capsys) -> None:
    from course.measuring import queueing

    monkeypatch.setattr(queueing, "_broker", lambda flush=False: _FakeBroker())
    with queueing._Sampler(lambda: 0):
        time.sleep(0.2)
    assert capsys.readouterr().out == ""
