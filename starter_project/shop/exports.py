"""Exports for the accountants: the shop's order lines as one CSV download."""

import csv
import io

from django.http import HttpResponse, HttpResponseBadRequest

from .models import OrderItem, recent_since

HEADER = ["order", "placed_at", "status", "customer", "product", "quantity", "unit_price",
          "line_total"]


def order_lines_csv(request):
    """Every order line, oldest order first; ?days=N keeps the last N days of trading."""
    # TODO(02.8): stream the file: read the rows in chunks (iterator) and send them as they
    # are written (StreamingHttpResponse), so memory stays flat however many lines there are.
    items = OrderItem.objects.select_related("order__customer", "product")
    days = request.GET.get("days")
    if days:
        if not days.isdigit():
            return HttpResponseBadRequest("days must be a whole number")
        items = items.filter(order__created_at__gte=recent_since(days=int(days)))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for item in items.order_by("order_id", "pk"):
        order = item.order
        writer.writerow([
            order.pk, order.created_at.isoformat(), order.status, order.customer.email,
            item.product.name, item.quantity, item.unit_price, item.line_total(),
        ])
    response = HttpResponse(out.getvalue(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="order-lines.csv"'
    return response
