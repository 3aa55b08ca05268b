"""The shop's HTML pages and downloads."""

from decimal import Decimal

from django.core.paginator import Paginator
from django.db.models import Avg, DecimalField, F, Prefetch, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import cache_page
from django.views.decorators.vary import vary_on_cookie

from .models import Category, Customer, Order, OrderItem, Product
from .reports import report_csv, report_pdf, sales_report

ORDERS_PER_PAGE = 50
# The catalogue changes a few times a day; a page up to five minutes old is fine. The
# header shows who is signed in, so the response varies on Cookie (the session cookie):
# each signed-in customer gets a cached page of their own.
CATALOGUE_CACHE_SECONDS = 5 * 60
RECENT_ORDERS_ON_DASHBOARD = 10
RELATED_PRODUCTS = 6
MONEY = DecimalField(max_digits=14, decimal_places=2)
CENT = Decimal("0.01")


@cache_page(CATALOGUE_CACHE_SECONDS)
@vary_on_cookie  # inside cache_page, so the cache learns to key on the session cookie
def product_list(request):
    """Every active product with its category, tags and average rating."""
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
    """Every order, newest first, a page at a time."""
    orders = (
        Order.objects.order_by("-created_at", "-pk")  # pk breaks ties: a stable order
        .select_related("customer")
        .prefetch_related("items")  # for the 50 orders of this page only
    )
    page_obj = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "shop/order_list.html", {"orders": page_obj, "page_obj": page_obj})


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
