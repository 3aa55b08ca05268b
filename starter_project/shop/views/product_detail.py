"""One product's page: its reviews, and other products of the same category."""

from django.shortcuts import get_object_or_404, render

from ..models import Product

RELATED_PRODUCTS = 6


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
