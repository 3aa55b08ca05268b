"""Tables of measurements: a pandas DataFrame to sort, filter and plot, a styled table for a
notebook, and a rich table for the terminal.

    rows = measure.measure_pages(pages)
    measure.html_table(rows)                       # in a notebook cell: a styled table
    df = measure.frame(rows)                       # the numbers: sort, filter, plot
    df.sort_values("median ms").plot.barh(x="page", y="median ms")
    print(measure.table(rows))                     # on the command line

Rows are :class:`~course.measuring.measure.PageMeasurement` objects, the rows of
:func:`~course.measuring.measure.compare`, or any dicts; columns get readable names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import is_dataclass
from typing import TYPE_CHECKING, Any

from course import text

if TYPE_CHECKING:
    import pandas
    from pandas.io.formats.style import Styler

LABELS = {
    "name": "page",
    "queries_before": "queries before",
    "queries_after": "queries after",
    "median_ms_before": "median ms before",
    "median_ms_after": "median ms after",
    "kib_before": "KiB before",
    "kib_after": "KiB after",
}


def _as_dict(item: Any) -> Mapping[str, Any]:
    if is_dataclass(item):  # a PageMeasurement
        return {
            "page": item.name,
            "status": item.status,
            "queries": item.queries,
            "repeated": item.duplicate_queries,
            "median ms": item.median_ms,
            "p95 ms": item.p95_ms,
            "KiB": round(item.bytes / 1024, 1),
        }
    return item


def _label(key: str, sides: tuple[str, str]) -> str:
    label = LABELS.get(key, key.replace("_", " "))
    for plain, side in zip(("before", "after"), sides, strict=True):
        if label.endswith(f" {plain}"):
            return label[:-len(plain)] + side
    return label


def rows(data: Sequence[Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Column names (in first-seen order, readable) and each row keyed by them. The two
    sides of a comparison are named as it says (``Comparison.sides``)."""
    sides = getattr(data, "sides", ("before", "after"))
    dicts = [_as_dict(item) for item in data]
    keys: list[str] = []
    for row in dicts:
        keys.extend(key for key in row if key not in keys)
    names = [_label(key, sides) for key in keys]
    return names, [{name: row.get(key) for key, name in zip(keys, names, strict=True)}
                   for row in dicts]


def shown(column: str, value: Any) -> str:
    """How one value reads: ratios as 2.00×, sizes to a tenth, times to two figures."""
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return "–"
    if isinstance(value, bool):
        return str(value)
    if column in ("speedup", "ratio") and isinstance(value, (int, float)):
        return f"{value:.2f}×"
    if column.startswith("KiB") and isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, tuple):
        return " × ".join(str(part) for part in value)
    return str(value)


def _numeric(column: list[Any]) -> bool:
    present = [v for v in column if v is not None]
    return bool(present) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                 for v in present)


def frame(data: Sequence[Any]) -> pandas.DataFrame:
    """The rows as a pandas DataFrame: numbers stay numbers, to sort, filter and plot."""
    import pandas

    names, records = rows(data)
    return pandas.DataFrame.from_records(records, columns=names)


def html_table(data: Sequence[Any], caption: str | None = None) -> Styler:
    """A notebook table (a pandas Styler; ``.data`` is the DataFrame), numbers to the right;
    ``caption`` (e.g. :func:`~course.measuring.measure.environment_note`) goes below."""
    df = frame(data)
    styler = df.style.hide(axis="index").format(
        {column: (lambda value, column=column: shown(column, value)) for column in df.columns},
        escape="html")
    numeric = [c for c in df.columns if _numeric(list(df[c]))]
    styler = styler.set_properties(subset=numeric, **{"text-align": "right"})
    styler = styler.set_table_styles([
        {"selector": "th", "props": "padding: 3px 10px; border-bottom: 1px solid #888;"},
        {"selector": "td", "props": "padding: 3px 10px; font-variant-numeric: tabular-nums;"},
        {"selector": "caption", "props": "caption-side: bottom; color: #666; font-size: 85%;"},
    ])
    return styler.set_caption(caption) if caption else styler


def table(data: Sequence[Any], title: str | None = None) -> str:
    """The rows as a terminal table (rich), numbers to the right."""
    from rich.table import Table

    names, records = rows(data)
    if not records:
        return "(nothing measured)"
    grid = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for name in names:
        grid.add_column(name, justify="right" if _numeric([r[name] for r in records])
                        else "left")
    for record in records:
        grid.add_row(*(shown(name, record[name]) for name in names))
    return text.render(grid)


def markdown(data: Sequence[Any]) -> str:
    """The rows as a Markdown table (for reports), each value as :func:`shown` reads it, with
    thousands separated."""
    names, records = rows(data)
    if not records:
        return "(nothing measured)\n"

    def cell(name: str, value: Any) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 1000:
            value = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
        return shown(name, value).replace("|", "\\|")

    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(cell(n, r[n]) for n in names) + " |" for r in records]
    return "\n".join(lines) + "\n"
