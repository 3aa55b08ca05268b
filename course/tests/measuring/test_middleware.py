"""Each middleware's cost is the difference between the stack cut after it and the stack
cut before it, per kind of handler."""

from __future__ import annotations

from course.measuring import middleware


def test_rows_are_differences_of_cuts_then_the_total_and_the_bare_view() -> None:
    rows = middleware._rows(["a.First", "b.Second"], {"sync": [10.0, 12.5, 40.0],
                                                      "async": [100.0, 90.0, 150.0]})
    assert rows == [
        {"middleware": "a.First", "sync µs": 2.5, "async µs": -10.0},
        {"middleware": "b.Second", "sync µs": 27.5, "async µs": 60.0},
        {"middleware": "all 2", "sync µs": 30.0, "async µs": 50.0},
        {"middleware": "the view, no middleware", "sync µs": 10.0, "async µs": 100.0},
    ]
