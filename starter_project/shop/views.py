"""The shop's HTML pages and downloads."""

from decimal import Decimal

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Category, Customer, Order, Product, recent_since
from .reports import report_csv, report_pdf, sales_report

ORDER_LIST_DAYS = 14
RECENT_ORDERS_ON_DASHBOARD = 10
RELATED_PRODUCTS = 6


def product_list(request):
    """Every active product with its category, tags and average rating."""
    # TODO(05.2): the catalogue changes a few times a day; serve it from the cache for a few
    # minutes, without ever showing one customer's page to someone else.
    # TODO(02.3): load categories, tags and the rating in a fixed number of queries,
    # however many products there are (the page must show the same ratings).
    products = Product.objects.filter(is_active=True).order_by("name")
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
            "rating": product.average_rating(),
        })
    return render(request, "shop/product_list.html", {"rows": rows, "category": category})


def product_detail(request, slug):
    """One product, its reviews, and other products of the same category."""
    product = get_object_or_404(Product, slug=slug)
    # TODO(02.1): each review shows its author's name; fetch the authors with the reviews.
    reviews = product.review_set.order_by("-created_at")
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
    # TODO(02.4): every row shows the customer, the item count and the total: load them
    # in a fixed number of queries, however many orders the period has.
    orders = Order.objects.filter(created_at__gte=since).order_by("-created_at")
    return render(request, "shop/order_list.html", {"orders": orders, "since": since})


def customer_dashboard(request, pk):
    """A customer's details, their latest orders and what they have spent with us."""
    customer = get_object_or_404(Customer, pk=pk)
    # TODO(02.2): a fixed number of queries whatever the number of orders: the recent
    # orders with their items and products, and the lifetime spend computed by the database.
    orders = customer.orders.order_by("-created_at")
    lifetime_spend = sum(
        (order.total() for order in orders if order.status != Order.Status.CANCELLED),
        Decimal("0.00"),
    )
    return render(
        request,
        "shop/customer_dashboard.html",
        {
            "customer": customer,
            "recent_orders": orders[:RECENT_ORDERS_ON_DASHBOARD],
            "order_count": len(orders),
            "lifetime_spend": lifetime_spend,
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
