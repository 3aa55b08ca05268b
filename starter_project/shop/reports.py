"""The sales report: revenue by category and month, and the best sellers."""

import csv
import io
from collections import defaultdict
from decimal import Decimal

from .models import OrderItem, recent_since

COUNTED_STATUSES = ("paid", "shipped")
REPORT_DAYS = 90
# TODO(05.8): the page, the CSV and the PDF each compute the whole report again, on every
# request, though it changes only when orders do.


def sales_report():
    """Totals over the paid or shipped order items of the last 90 days, exact to the cent."""
    # TODO(02.5): let the database add up the totals (aggregate / annotate with values()),
    # instead of loading every order item into Python; the figures must not change.
    since = recent_since(days=REPORT_DAYS)
    by_category = defaultdict(lambda: Decimal("0.00"))
    by_month = defaultdict(lambda: Decimal("0.00"))
    units = defaultdict(int)
    revenue = defaultdict(lambda: Decimal("0.00"))
    names = {}
    total = Decimal("0.00")
    order_ids = set()
    items = OrderItem.objects.filter(order__created_at__gte=since)
    for item in items.select_related("order", "product__category"):
        order = item.order
        if order.status not in COUNTED_STATUSES:
            continue
        line = item.unit_price * item.quantity
        product = item.product
        total += line
        order_ids.add(order.pk)
        by_category[product.category.name] += line
        by_month[order.created_at.strftime("%Y-%m")] += line
        units[product.pk] += item.quantity
        revenue[product.pk] += line
        names[product.pk] = product.name
    best = sorted(units, key=lambda pk: (-units[pk], pk))[:10]
    return {
        "since": since,
        "total": total,
        "orders": len(order_ids),
        "by_category": sorted(by_category.items()),
        "by_month": sorted(by_month.items()),
        "best_sellers": [
            {"product": names[pk], "units": units[pk], "revenue": revenue[pk]} for pk in best
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
