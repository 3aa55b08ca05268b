"""Charts of measurements: a bar per page, or before/after pairs with their ratio.

Matplotlib Figures without pyplot: a notebook shows them as images, and nothing
is imported until a chart is drawn.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from course.measuring.measure import PageMeasurement

Rows = Sequence[Any]


_METRIC_LABELS = {
    "median_ms": "median time (ms)",
    "p95_ms": "p95 time (ms)",
    "queries": "SQL queries",
    "bytes": "response size (bytes)",
    "duplicate_queries": "repeated queries",
    "peak_mib": "peak memory (MiB)",
    "kib": "response size (KiB)",
    "req_per_s": "requests per second",
}
# For these, more is better: a pair's label is the second side over the first ("3.2×" more
# requests answered); for the others, the first over the second ("3.2×" faster, fewer).
_HIGHER_IS_BETTER = {"req_per_s"}
_COLOUR = "#3b6fb6"
_BEFORE_COLOUR = "#b8c0cc"


def _name(item: PageMeasurement | Mapping[str, Any]) -> str:
    if not isinstance(item, Mapping):  # a PageMeasurement
        return item.name
    return str(item.get("name", item.get("page", "?")))


def _value(item: PageMeasurement | Mapping[str, Any], metric: str) -> float:
    value = item[metric] if isinstance(item, Mapping) else getattr(item, metric)
    return float(value or 0)


def _short_number(value: float) -> str:
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


_chart_class: type | None = None


def _figure_class() -> type:
    """A Figure that shows itself as a PNG in Jupyter, without pyplot or ``plt.show()``."""
    global _chart_class
    if _chart_class is None:
        from matplotlib.figure import Figure

        class ChartFigure(Figure):
            def _repr_png_(self) -> bytes:
                buffer = io.BytesIO()
                self.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
                return buffer.getvalue()

        _chart_class = ChartFigure
    return _chart_class


def figure(**kwargs: Any) -> Figure:
    """An empty figure that a notebook shows as an image (for charts of other shapes)."""
    return _figure_class()(**kwargs)


def _style(axes: Any, names: list[str], metric: str, title: str, log: bool, top: float) -> None:
    axes.set_xticks(range(len(names)))
    axes.set_xlim(-0.6, len(names) - 0.4)  # a lone page keeps slim bars
    long = len(names) > 6 or any(len(n) > 12 for n in names)
    axes.set_xticklabels(names, rotation=30 if long else 0, ha="right" if long else "center")
    axes.set_ylabel(_METRIC_LABELS.get(metric, metric.replace("_", " ")))
    title = title or _METRIC_LABELS.get(metric, metric.replace("_", " "))
    axes.set_title(f"{title} (log scale)" if log and "log" not in title.lower() else title)
    if log:
        axes.set_yscale("log")
        if top > 0:
            axes.set_ylim(top=top * 3)  # room for the labels above the bars
    else:
        axes.margins(y=0.15)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.yaxis.grid(True, color="#e3e3e3")
    axes.set_axisbelow(True)


def _is_comparison(data: Rows, metric: str) -> bool:
    first = data[0] if data else None
    return isinstance(first, Mapping) and f"{metric}_before" in first and f"{metric}_after" in first


def bar_chart(
    data: Rows,
    metric: str = "median_ms",
    *,
    title: str = "",
    log: bool = False,
) -> Figure:
    """A bar per page for ``metric``; for :func:`compare` rows, before/after pairs with ratios.

    Returns a matplotlib Figure (no pyplot involved); a notebook shows it as an image.
    """
    items = list(data)
    width = min(16.0, max(6.0, 1.0 * len(items) + 2.5))
    figure = _figure_class()(figsize=(width, 4.2))
    axes = figure.subplots()
    names = [_name(item) for item in items]
    if _is_comparison(items, metric):
        before = [_value(item, f"{metric}_before") for item in items]
        after = [_value(item, f"{metric}_after") for item in items]
        left = [i - 0.2 for i in range(len(items))]
        right = [i + 0.2 for i in range(len(items))]
        first, second = getattr(data, "sides", ("before", "after"))
        axes.bar(left, before, width=0.4, color=_BEFORE_COLOUR, label=first)
        axes.bar(right, after, width=0.4, color=_COLOUR, label=second)
        for i, (old, new) in enumerate(zip(before, after, strict=True)):
            if metric in _HIGHER_IS_BETTER:
                old, new = new, old
            label = f"{old / new:.1f}×" if new > 0 else ("" if old <= 0 else "→ 0")
            axes.annotate(label, (i, max(old, new)), xytext=(0, 3), textcoords="offset points",
                          ha="center", va="bottom", fontsize=9, fontweight="bold")
        axes.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        top = max([*before, *after], default=0.0)
    else:
        values = [_value(item, metric) for item in items]
        bars = axes.bar(range(len(values)), values, width=0.6, color=_COLOUR)
        axes.bar_label(bars, labels=[_short_number(v) for v in values], padding=2, fontsize=8)
        top = max(values, default=0.0)
    _style(axes, names, metric, title, log, top)
    figure.tight_layout()
    return figure
