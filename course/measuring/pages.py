"""The shop's pages that the course measures, by name, built from the current database."""

from __future__ import annotations


def shop_pages() -> dict[str, str]:
    """Every GET page of the shop, with a real product slug and customer id filled in.

    Django must be set up; the database must hold at least one product and customer.
    """
    from django.urls import reverse
    from shop.models import Customer, Product

    product = Product.objects.order_by("pk").first()
    customer = Customer.objects.order_by("pk").first()
    if product is None or customer is None:
        raise LookupError("the shop's database is empty: run `python manage.py seed_shop`")
    return {
        "product list": reverse("shop:product_list"),
        "product detail": reverse("shop:product_detail", args=[product.slug]),
        "trending": reverse("shop:trending"),
        "order list": reverse("shop:order_list"),
        "customer dashboard": reverse("shop:customer_dashboard", args=[customer.pk]),
        "sales report": reverse("shop:sales_report"),
        "sales report CSV": reverse("shop:sales_report_csv"),
        "sales report PDF": reverse("shop:sales_report_pdf"),
        "order lines CSV": reverse("shop:order_lines_csv") + "?days=14",
        "API: products": reverse("api:product_list"),
        "API: orders": reverse("api:order_list"),
    }
