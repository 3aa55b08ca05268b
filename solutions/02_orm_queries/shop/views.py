"""The shop's HTML pages and downloads."""

from decimal import Decimal

from django.db.models import Avg, DecimalField, F, Prefetch, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Category, Customer, Order, OrderItem, Product, recent_since
from .reports import report_csv, report_pdf, sales_report

ORDER_LIST_DAYS = 14
RECENT_ORDERS_ON_DASHBOARD = 10
RELATED_PRODUCTS = 6
MONEY = DecimalField(max_digits=14, decimal_places=2)
CENT = Decimal("0.01")


def product_list(request):
    """Every active product with its category, tags and average rating."""
    # TODO(05.2): the catalogue changes a few times a day; serve it from the cache for a few
    # minutes, without ever showing one customer's page to someone else.
    products = (
        Product.objects.filter(is_active=True)
        .order_by("name")
        .select_related("category")  # the category comes in the same query (a JOIN)
        .prefetch_related("tags")  # all tags of all products in one more query
        .annotate(mean_rating=Avg("review__rating"))  # the database averages the ratings
    )
    category = None
    if request.GET.get("category"):
        category = get_object_or_404(Category, slug=request.GET["category"])
        products = products.filter(category=category)
    rows = []
    for product in products:
        rows.append({
            "product": product,
            "category": product.category.name,
            "tags": [tag.name for tag in product.tags.all()],
            "rating": _one_decimal(product.mean_rating),
        })
    return render(request, "shop/product_list.html", {"rows": rows, "category": category})


def _one_decimal(mean):
    """The rating as Product.average_rating() shows it: one decimal, None without reviews."""
    return None if mean is None else round(float(mean), 1)


def product_detail(request, slug):
    """One product, its reviews, and other products of the same category."""
    product = get_object_or_404(Product, slug=slug)
    reviews = product.review_set.select_related("customer").order_by("-created_at")
    related = (
        Product.objects.filter(category=product.category, is_active=True)
        .exclude(pk=product.pk)
        .order_by("name")[:RELATED_PRODUCTS]
    )
    return render(
        request,
        "shop/product_detail.html",
        {"product": product, "reviews": reviews, "related": related},
    )


def order_list(request):
    """The orders of the last two weeks, newest first."""
    # TODO(04.1): the two-week window is a stopgap. Show every order, newest first, a page
    # at a time (Paginator): the template shows page links when it gets a `page_obj`.
    since = recent_since(days=ORDER_LIST_DAYS)
    orders = (
        Order.objects.filter(created_at__gte=since)
        .order_by("-created_at")
        .select_related("customer")  # the name and link come with the order
        .prefetch_related("items")  # item_count() and total() read this cache
    )
    return render(request, "shop/order_list.html", {"orders": orders, "since": since})


def customer_dashboard(request, pk):
    """A customer's details, their latest orders and what they have spent with us."""
    customer = get_object_or_404(Customer, pk=pk)
    orders = customer.orders.all()
    spend = orders.exclude(status=Order.Status.CANCELLED).aggregate(
        total=Sum(F("items__unit_price") * F("items__quantity"), output_field=MONEY)
    )["total"]
    recent_orders = orders.order_by("-created_at").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.select_related("product").order_by("pk"))
    )[:RECENT_ORDERS_ON_DASHBOARD]
    return render(
        request,
        "shop/customer_dashboard.html",
        {
            "customer": customer,
            "recent_orders": recent_orders,
            "order_count": orders.count(),
            # SQLite sums decimals as floats: round the total back to cents.
            "lifetime_spend": (spend or Decimal("0")).quantize(CENT),
        },
    )


def sales_report_page(request):
    return render(request, "shop/sales_report.html", {"report": sales_report()})


def sales_report_csv(request):
    response = HttpResponse(report_csv(sales_report()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="sales-report.csv"'
    return response


def sales_report_pdf(request):
    response = HttpResponse(report_pdf(sales_report()), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="sales-report.pdf"'
    return response
