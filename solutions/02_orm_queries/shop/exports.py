"""Exports for the accountants: the shop's order lines as one CSV download."""

import csv

from django.http import HttpResponseBadRequest, StreamingHttpResponse

from .models import OrderItem, recent_since

HEADER = ["order", "placed_at", "status", "customer", "product", "quantity", "unit_price",
          "line_total"]
CHUNK_SIZE = 2000  # rows fetched from the database at a time
LINES_PER_WRITE = 500  # CSV lines joined into one piece of the response


class _Passthrough:
    """A file-like object for csv.writer whose write() hands the line back."""

    def write(self, line):
        return line


def _csv_pieces(items):
    writer = csv.writer(_Passthrough())
    yield writer.writerow(HEADER)
    rows = items.order_by("order_id", "pk").values_list(
        "order_id", "order__created_at", "order__status", "order__customer__email",
        "product__name", "quantity", "unit_price",
    )
    batch = []
    for order_id, placed_at, status, email, product, quantity, unit_price in rows.iterator(
        chunk_size=CHUNK_SIZE
    ):
        batch.append(writer.writerow([
            order_id, placed_at.isoformat(), status, email, product, quantity, unit_price,
            unit_price * quantity,
        ]))
        if len(batch) == LINES_PER_WRITE:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def order_lines_csv(request):
    """Every order line, oldest order first; ?days=N keeps the last N days of trading."""
    items = OrderItem.objects.all()
    days = request.GET.get("days")
    if days:
        if not days.isdigit():
            return HttpResponseBadRequest("days must be a whole number")
        items = items.filter(order__created_at__gte=recent_since(days=int(days)))
    response = StreamingHttpResponse(_csv_pieces(items), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="order-lines.csv"'
    return response
