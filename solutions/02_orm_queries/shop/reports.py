"""The sales report: revenue by category and month, and the best sellers."""

import csv
import io
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum
from django.db.models.functions import TruncMonth

from .models import OrderItem, recent_since

COUNTED_STATUSES = ("paid", "shipped")
REPORT_DAYS = 90


MONEY = DecimalField(max_digits=14, decimal_places=2)
CENT = Decimal("0.01")


def _cents(value):
    """Round a database sum back to cents (SQLite adds decimals as floats)."""
    return (value or Decimal("0")).quantize(CENT)


def sales_report():
    """Totals over the paid or shipped order items of the last 90 days, exact to the cent."""
    since = recent_since(days=REPORT_DAYS)
    items = OrderItem.objects.filter(
        order__created_at__gte=since, order__status__in=COUNTED_STATUSES
    )
    line = ExpressionWrapper(F("unit_price") * F("quantity"), output_field=MONEY)
    summary = items.aggregate(total=Sum(line), orders=Count("order", distinct=True))
    by_category = (
        items.values_list("product__category__name")
        .annotate(revenue=Sum(line))
        .order_by("product__category__name")
    )
    by_month = (
        items.annotate(month=TruncMonth("order__created_at"))
        .values_list("month")
        .annotate(revenue=Sum(line))
        .order_by("month")
    )
    best = (
        items.values("product", "product__name")
        .annotate(units=Sum("quantity"), revenue=Sum(line))
        .order_by("-units", "product")[:10]
    )
    return {
        "since": since,
        "total": _cents(summary["total"]),
        "orders": summary["orders"],
        "by_category": [(name, _cents(revenue)) for name, revenue in by_category],
        "by_month": [(month.strftime("%Y-%m"), _cents(revenue)) for month, revenue in by_month],
        "best_sellers": [
            {"product": row["product__name"], "units": row["units"],
             "revenue": _cents(row["revenue"])}
            for row in best
        ],
    }


def report_csv(report):
    """The report as CSV text: one `section, key, value` row per figure."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "key", "value"])
    writer.writerow(["total", "revenue", report["total"]])
    writer.writerow(["total", "orders", report["orders"]])
    for name, value in report["by_category"]:
        writer.writerow(["category", name, value])
    for month, value in report["by_month"]:
        writer.writerow(["month", month, value])
    for row in report["best_sellers"]:
        writer.writerow(["best seller", row["product"], row["units"]])
    return out.getvalue()


def report_pdf(report):
    """The report as a printable A4 PDF (bytes)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    width, height = A4
    y = height - 60

    def line(text, size=10, gap=14):
        nonlocal y
        if y < 60:
            pdf.showPage()
            y = height - 60
        pdf.setFont("Helvetica", size)
        pdf.drawString(50, y, text)
        y -= gap

    line("Under Load Shop: sales report", size=18, gap=28)
    line(f"Paid and shipped orders since {report['since']:%Y-%m-%d}", gap=20)
    line(f"Revenue: {report['total']}   Orders: {report['orders']}", size=12, gap=22)
    line("By category", size=13, gap=18)
    for name, value in report["by_category"]:
        line(f"{name}: {value}")
    line("", gap=10)
    line("By month", size=13, gap=18)
    for month, value in report["by_month"]:
        line(f"{month}: {value}")
    line("", gap=10)
    line("Best sellers", size=13, gap=18)
    for row in report["best_sellers"]:
        line(f"{row['product']}: {row['units']} units, {row['revenue']}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
