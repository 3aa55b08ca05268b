"""Tests of ``course.measuring.measure``.

Pure parts (SQL shapes, timing statistics, comparisons, tables, charts) are
tested in this process. Everything that needs Django runs once in a fresh
interpreter: this file, executed as a script, configures a throw-away Django
(in-memory SQLite, views defined below, no models, no project) and writes what
it measured to a JSON file the tests then inspect. Django is therefore never
configured inside the pytest process, so other tests keep a clean slate.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

from course.measuring import measure
from course.measuring.measure import PageMeasurement

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]


def page(name: str, median_ms: float, queries: int = 1, **fields: Any) -> PageMeasurement:
    values: dict[str, Any] = {
        "name": name, "url": f"/{name}/", "status": 200, "queries": queries,
        "median_ms": median_ms, "p95_ms": median_ms * 1.5, "runs": 5, "bytes": 2048,
    }
    values.update(fields)
    return PageMeasurement(**values)


# ------------------------------------------------------------------ pure parts


def test_transaction_control_is_not_a_query() -> None:
    for statement in ('SAVEPOINT "s1_x1"', 'RELEASE SAVEPOINT "s1_x1"',
                      'ROLLBACK TO SAVEPOINT "s1_x1"', "BEGIN", "COMMIT", "  rollback"):
        assert not measure.is_counted(statement), statement
    for statement in ("SELECT 1", 'UPDATE "shop_order" SET "paid" = 1', "SELECT 'BEGIN'"):
        assert measure.is_counted(statement), statement


def test_normalise_makes_repeats_alike() -> None:
    one = 'SELECT "c"."name" FROM "c" WHERE "c"."id" = 17 AND "c"."city" = \'O\'\'Hara\''
    two = 'SELECT "c"."name" FROM "c" WHERE "c"."id" = 4 AND "c"."city" = \'Oslo\''
    assert measure.normalise(one) == measure.normalise(two)
    assert measure.normalise('SELECT * FROM "t2" WHERE "id" IN (1, 2, 3)') == (
        measure.normalise('SELECT * FROM "t2" WHERE "id" IN (4)')
    )
    assert '"t2"' in measure.normalise('SELECT * FROM "t2" LIMIT 21')


def test_repeated_counts_copies_after_the_first() -> None:
    statements = [f'SELECT * FROM "customer" WHERE "id" = {n}' for n in range(10)]
    statements.append('SELECT * FROM "order" LIMIT 10')
    duplicates, top = measure.repeated(statements)
    assert duplicates == 9
    assert top == ('SELECT * FROM "customer" WHERE "id" = ?', 10)
    assert measure.repeated(["SELECT 1", "SELECT 1, 2"]) == (0, None)


def test_time_callable_median_and_p95_from_a_fake_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    delays_ms = [90.0, 1.0, 5.0, 3.0, 7.0, 2.0, 8.0, 4.0]  # the first is the warm-up

    def work() -> None:
        clock[0] += delays_ms.pop(0) / 1000

    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])
    result = measure.time_callable(work, repeat=7, warmup=1)
    assert delays_ms == []
    assert result == {"median_ms": 4.0, "p95_ms": 7.7, "runs": 7}


def test_percentile_is_sensible_for_tiny_samples() -> None:
    assert measure.percentile([42.0], 0.95) == 42.0
    assert measure.percentile([1.0, 3.0], 0.5) == 2.0
    assert measure.percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.95) == pytest.approx(4.8)
    with pytest.raises(ValueError):
        measure.time_callable(lambda: None, repeat=0)


def test_compare_joins_by_name_and_divides_medians() -> None:
    before = [page("list", 40.0, queries=41), page("detail", 9.0, queries=3),
              page("gone", 5.0)]
    after = [page("detail", 3.0, queries=3), page("list", 10.0, queries=2, p95_ms=999.0),
             page("new", 1.0)]
    rows = measure.compare(before, after)
    assert [row["name"] for row in rows] == ["list", "detail"]
    assert rows[0] == {"name": "list", "queries_before": 41, "queries_after": 2,
                       "median_ms_before": 40.0, "median_ms_after": 10.0, "kib_before": 2.0,
                       "kib_after": 2.0, "speedup": 4.0}
    assert rows[1]["speedup"] == 3.0
    assert measure.compare([page("x", 1.0)], [page("x", 0.0)])[0]["speedup"] is None


def test_table_lists_every_row_aligned() -> None:
    pages = [page("Product list", 12.5, queries=41, duplicate_queries=40),
             page("Sales report", 1234.567)]
    lines = measure.table(pages).splitlines()
    assert len(lines) == 4
    assert [cell.strip() for cell in lines[0].split("┃")] == [
        "page", "status", "queries", "repeated", "median ms", "p95 ms", "KiB"]
    assert "Product list" in lines[2] and "41" in lines[2] and "12.50" in lines[2]
    assert "Sales report" in lines[3] and "1234.6" in lines[3]
    assert lines[2].index("12.50") + 5 == lines[3].index("1234.6") + 6  # numbers right-aligned

    comparison = measure.table(measure.compare(pages, [page("Product list", 2.5, queries=2)]))
    assert "speedup" in comparison and "5.00×" in comparison and "Product list" in comparison
    assert measure.table([]) == "(nothing measured)"


def test_html_table_is_a_styled_dataframe_with_escaped_rows() -> None:
    shown = measure.html_table([page("<b>list</b>", 3.0)], caption="on a laptop")
    markup = shown.to_html()
    assert markup.count("<tr>") == 2 and "on a laptop" in markup
    assert "&lt;b&gt;list&lt;/b&gt;" in markup and "<b>list</b>" not in markup
    assert "3.00" in markup and "text-align: right" in markup
    assert list(shown.data["median ms"]) == [3.0], "the numbers stay numbers to sort and plot"


def test_frame_keeps_numbers_to_sort_filter_and_plot() -> None:
    df = measure.frame([page("slow", 30.0, queries=9), page("fast", 3.0, queries=1)])
    assert list(df.sort_values("median ms")["page"]) == ["fast", "slow"]
    assert df["queries"].sum() == 10


def test_bar_chart_draws_one_bar_per_page() -> None:
    from matplotlib.figure import Figure

    pages = [page("Product list with a long name", 12.0), page("Detail", 3.0),
             page("Report", 300.0)]
    figure = measure.bar_chart(pages, metric="median_ms", title="Baseline", log=True)
    assert isinstance(figure, Figure)
    axes = figure.axes[0]
    assert len(axes.patches) == 3
    assert [bar.get_height() for bar in axes.patches] == [12.0, 3.0, 300.0]
    assert axes.get_title() == "Baseline (log scale)" and axes.get_yscale() == "log"
    assert axes.get_xticklabels()[0].get_rotation() == 30
    assert figure._repr_png_().startswith(b"\x89PNG")  # shows in Jupyter without pyplot


def test_bar_chart_pairs_before_and_after_with_ratios() -> None:
    before = [page("list", 40.0, queries=41), page("detail", 9.0, queries=3)]
    after = [page("list", 10.0, queries=1), page("detail", 4.5, queries=3)]
    rows = measure.compare(before, after)

    axes = measure.bar_chart(rows).axes[0]
    assert len(axes.patches) == 4
    assert [text.get_text() for text in axes.texts] == ["4.0×", "2.0×"]

    axes = measure.bar_chart(rows, metric="queries").axes[0]
    assert [text.get_text() for text in axes.texts] == ["41.0×", "1.0×"]


def test_a_pair_where_more_is_better_is_labelled_the_other_way_round() -> None:
    rows = measure.Comparison([{"name": "trending", "req_per_s_before": 20.0,
                                "req_per_s_after": 900.0}], sides=("starter", "reference"))
    axes = measure.bar_chart(rows, metric="req_per_s").axes[0]
    assert [text.get_text() for text in axes.texts] == ["45.0×"]


# ------------------------------------------------------------------ with Django


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run this file as a script in a fresh interpreter and read what it measured."""
    output = tmp_path_factory.mktemp("measure") / "measured.json"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(HERE), str(output)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(output.read_text())
    result["stdout"] = done.stdout
    return result


def test_importing_measure_sets_nothing_up(measured: dict[str, Any]) -> None:
    assert measured["before_setup"] == {"matplotlib": False, "django": False}


def test_counts_queries_on_every_connection(measured: dict[str, Any]) -> None:
    distinct = measured["distinct"]
    assert distinct["status"] == 200
    assert distinct["queries"] == 3
    assert distinct["sql"] == ["SELECT 1", "SELECT 1, 2", "SELECT 'a' || 'b'"]
    assert (distinct["duplicate_queries"], distinct["top_repeated"]) == (0, None)
    assert measured["two_databases"]["queries"] == 2


def test_savepoints_and_transactions_are_not_counted(measured: dict[str, Any]) -> None:
    assert measured["atomic"]["queries"] == 2
    assert measured["atomic"]["sql"] == ["SELECT 1", "SELECT 2"]
    count, sql = measured["queries_for"]
    assert count == 3 and sql == ["SELECT 1", "SELECT 2", "SELECT 3"]


def test_repeated_queries_are_flagged(measured: dict[str, Any]) -> None:
    repeated = measured["repeated"]
    assert repeated["queries"] == 6
    assert repeated["duplicate_queries"] == 4
    assert repeated["top_repeated"] == ["SELECT ?", 5]


def test_median_and_p95_of_known_timings(measured: dict[str, Any]) -> None:
    timed = measured["timed"]
    assert timed["unused_delays"] == []  # warm-up, counted run and five timed runs
    assert (timed["median_ms"], timed["p95_ms"], timed["runs"]) == (3.0, 4.8, 5)


def test_body_size_including_streamed_bodies(measured: dict[str, Any]) -> None:
    assert measured["sized"]["bytes"] == 1234
    assert measured["stream"]["bytes"] == 1500
    assert measured["stream"]["queries"] == 1  # the query runs while the body streams


def test_post_with_data_and_headers(measured: dict[str, Any]) -> None:
    assert measured["echo"]["status"] == 200
    assert measured["echo"]["bytes"] == len("POST:hi:xyz")


def test_server_errors_raise_measure_error(measured: dict[str, Any]) -> None:
    returned, raised = measured["errors"]
    assert returned["status"] == 500
    assert returned["message"].startswith("/boom/ answered 500")
    assert "database on fire" in returned["message"]
    assert raised["status"] == 500 and "RuntimeError: kaput" in raised["message"]


def test_measure_pages_keeps_order_and_reports_progress(measured: dict[str, Any]) -> None:
    """Progress goes to stdout outside a terminal: in a notebook, stderr reads as an error."""
    assert measured["pages"] == ["Sized", "Distinct"]
    assert "[1/2] Sized" in measured["stdout"] and "measured 2 page(s)" in measured["stdout"]


def test_environment_note(measured: dict[str, Any]) -> None:
    note = measured["note"]
    assert note.startswith(f"Python {sys.version_info.major}.{sys.version_info.minor}")
    assert "Django 5." in note and "SQLite database" in note and "CPU" in note


# ------------------------------------------------------------------ the script side

_CLOCK = [0.0]
_DELAYS_MS: list[float] = []


def _urlpatterns() -> list[Any]:
    from django.db import connection, connections, transaction
    from django.http import HttpResponse, HttpResponseServerError, StreamingHttpResponse
    from django.urls import path

    def run(sql: str, params: list[Any] | None = None, using: str = "default") -> None:
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    def distinct(request: Any) -> HttpResponse:
        for sql in ("SELECT 1", "SELECT 1, 2", "SELECT 'a' || 'b'"):
            run(sql)
        return HttpResponse("ok")

    def two_databases(request: Any) -> HttpResponse:
        run("SELECT 1")
        run("SELECT 2", using="other")
        return HttpResponse("ok")

    def repeated(request: Any) -> HttpResponse:
        for number in range(int(request.GET["n"])):
            run("SELECT %s", [number])
        run("SELECT 1 + 1")
        return HttpResponse("ok")

    def atomic(request: Any) -> HttpResponse:
        with transaction.atomic():
            run("SELECT 1")
            with transaction.atomic():
                run("SELECT 2")
        return HttpResponse("ok")

    def sized(request: Any) -> HttpResponse:
        return HttpResponse(b"x" * 1234)

    def stream(request: Any) -> StreamingHttpResponse:
        def chunks() -> Any:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            yield b"a" * 1000
            yield b"b" * 500

        return StreamingHttpResponse(chunks())

    def echo(request: Any) -> HttpResponse:
        return HttpResponse(f"{request.method}:{request.headers.get('X-Course', '')}:"
                            f"{request.POST.get('a', '')}")

    def boom(request: Any) -> HttpResponse:
        return HttpResponseServerError("<html><title>database on fire</title><p>sorry</p>")

    def raises(request: Any) -> HttpResponse:
        raise RuntimeError("kaput")

    def timed(request: Any) -> HttpResponse:
        _CLOCK[0] += _DELAYS_MS.pop(0) / 1000
        return HttpResponse("tick")

    views = [distinct, two_databases, repeated, atomic, sized, stream, echo, boom, raises, timed]
    return [path(f"{view.__name__}/", view) for view in views]


def _as_json(measurement: PageMeasurement) -> dict[str, Any]:
    return dataclasses.asdict(measurement)


def _scenario() -> dict[str, Any]:
    before_setup = {"matplotlib": "matplotlib" in sys.modules, "django": "django" in sys.modules}
    import django
    from django.conf import settings
    from django.db import transaction

    memory = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    settings.configure(
        DEBUG=False, SECRET_KEY="measure-tests", ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__, DATABASES={"default": memory, "other": dict(memory)},
        INSTALLED_APPS=[], MIDDLEWARE=[], USE_TZ=True,
    )
    django.setup()
    globals()["urlpatterns"] = _urlpatterns()

    results: dict[str, Any] = {"before_setup": before_setup}
    for key, url in [("distinct", "/distinct/"), ("two_databases", "/two_databases/"),
                     ("repeated", "/repeated/?n=5"), ("atomic", "/atomic/"),
                     ("sized", "/sized/"), ("stream", "/stream/")]:
        results[key] = _as_json(measure.measure_url(url, repeat=2))
    results["echo"] = _as_json(measure.measure_url(
        "/echo/", method="post", data={"a": "xyz"}, headers={"X-Course": "hi"}, repeat=1))

    def nested() -> None:
        from django.db import connection

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            with transaction.atomic():
                cursor.execute("SELECT 2")
            try:
                with transaction.atomic():
                    cursor.execute("SELECT 3")
                    raise ValueError("roll this savepoint back")
            except ValueError:
                pass

    results["queries_for"] = measure.queries_for(nested)

    errors = []
    for url in ("/boom/", "/raises/"):
        try:
            measure.measure_url(url)
        except measure.MeasureError as error:
            errors.append({"status": error.status, "message": str(error)})
    results["errors"] = errors

    _DELAYS_MS[:] = [50.0, 60.0, 5.0, 1.0, 3.0, 2.0, 4.0]
    real_clock = time.perf_counter
    time.perf_counter = lambda: _CLOCK[0]
    try:
        timed = measure.measure_url("/timed/", repeat=5, warmup=1)
    finally:
        time.perf_counter = real_clock
    results["timed"] = {**_as_json(timed), "unused_delays": list(_DELAYS_MS)}

    pages = measure.measure_pages({"Sized": "/sized/", "Distinct": "/distinct/"}, repeat=1)
    results["pages"] = [m.name for m in pages]
    results["note"] = measure.environment_note()
    return results


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(_scenario()))


def test_peak_memory_sees_what_was_allocated_and_freed():
    def build_and_drop():
        block = bytearray(8 * 2**20)
        del block
        return "done"

    result, peak = measure.peak_memory(build_and_drop)
    assert result == "done"
    assert 8 * 2**20 <= peak < 9 * 2**20


def test_peak_memory_refuses_to_nest():
    with pytest.raises(RuntimeError, match="cannot nest"):
        measure.peak_memory(measure.peak_memory, lambda: None)


def test_body_pieces_reads_plain_and_streamed_bodies():
    plain = types.SimpleNamespace(streaming=False, content=b"whole")
    streamed = types.SimpleNamespace(streaming=True, streaming_content=iter([b"a", b"bc"]))
    assert list(measure.body_pieces(plain)) == [b"whole"]
    assert list(measure.body_pieces(streamed)) == [b"a", b"bc"]


def test_a_comparison_names_its_sides_in_tables_and_charts() -> None:
    from course.measuring import tables

    rows = measure.Comparison([{"name": "list", "queries_before": 41, "queries_after": 2,
                                "speedup": 4.0}], sides=("yours", "reference"))
    names, _ = tables.rows(rows)
    assert names == ["page", "queries yours", "queries reference", "speedup"]
    figure = measure.bar_chart(rows, "queries", log=True)
    axes = figure.axes[0]
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["yours", "reference"]
    assert axes.get_title().endswith("(log scale)")
