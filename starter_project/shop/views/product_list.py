"""The catalogue: every active product, optionally of one category."""

from django.shortcuts import get_object_or_404, render

from ..models import Category, Product


def product_list(request):
    """Every active product with its category, tags and average rating."""
    # TODO(05.2): the catalogue changes a few times a day; serve it from the cache for a few
    # minutes, without ever showing one customer's page to someone else.
    # TODO(07.3): and whatever caches it on the server must not let browsers keep it: they would
    # show old prices after the server's copy is gone.
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
