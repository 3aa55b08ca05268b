"""The shop's HTML pages and downloads."""

from django import forms
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .emails import send_order_confirmation
from .models import Customer, Order, OrderItem, Product, recent_since
from .reports import report_csv, report_pdf, sales_report

ORDER_LIST_DAYS = 14


def product_list(request):
    products = Product.objects.filter(is_active=True).order_by("name")
    rows = []
    for product in products:
        rows.append({
            "product": product,
            "category": product.category.name,
            "tags": [tag.name for tag in product.tags.all()],
            "rating": product.average_rating(),
        })
    return render(request, "shop/product_list.html", {"rows": rows})


def product_detail(request, slug):
    product = get_object_or_404(Product, slug=slug)
    reviews = product.review_set.order_by("-created_at")
    related = Product.objects.filter(category=product.category, is_active=True).exclude(
        pk=product.pk
    )[:6]
    return render(
        request,
        "shop/product_detail.html",
        {"product": product, "reviews": reviews, "related": related},
    )


def order_list(request):
    since = recent_since(days=ORDER_LIST_DAYS)
    orders = Order.objects.filter(created_at__gte=since).order_by("-created_at")
    return render(request, "shop/order_list.html", {"orders": orders, "since": since})


def customer_dashboard(request, pk):
    customer = get_object_or_404(Customer, pk=pk)
    orders = customer.orders.order_by("-created_at")
    recent = orders[:10]
    lifetime = sum(order.total() for order in orders if order.status != "cancelled")
    return render(
        request,
        "shop/customer_dashboard.html",
        {"customer": customer, "recent_orders": recent, "lifetime_spend": lifetime},
    )


def sales_report_page(request):
    return render(request, "shop/sales_report.html", {"report": sales_report()})


def sales_report_csv(request):
    response = HttpResponse(report_csv(sales_report()), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="sales-report.csv"'
    return response


def sales_report_pdf(request):
    response = HttpResponse(report_pdf(sales_report()), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="sales-report.pdf"'
    return response


class PlaceOrderForm(forms.Form):
    customer_id = forms.IntegerField()
    product_ids = forms.CharField(help_text="comma-separated product ids")
    quantities = forms.CharField(help_text="comma-separated quantities")

    def clean(self):
        data = super().clean()
        try:
            ids = [int(value) for value in data.get("product_ids", "").split(",") if value]
            quantities = [int(value) for value in data.get("quantities", "").split(",") if value]
        except ValueError:
            raise forms.ValidationError("product ids and quantities must be numbers")
        if not ids or len(ids) != len(quantities) or min(quantities) < 1:
            raise forms.ValidationError("give one positive quantity per product")
        data["lines"] = list(zip(ids, quantities))
        return data


@require_POST
def place_order(request):
    form = PlaceOrderForm(request.POST)
    if not form.is_valid():
        return HttpResponse(f"Invalid order: {form.errors.as_text()}", status=400)
    customer = get_object_or_404(Customer, pk=form.cleaned_data["customer_id"])
    order = Order(customer=customer, created_at=timezone.now(), status=Order.Status.PENDING)
    order.save()
    for product_id, quantity in form.cleaned_data["lines"]:
        product = get_object_or_404(Product, pk=product_id)
        item = OrderItem(order=order, product=product, quantity=quantity, unit_price=product.price)
        item.save()
    send_order_confirmation(order)
    return redirect("shop:customer_dashboard", pk=customer.pk)
