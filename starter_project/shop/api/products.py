"""The catalogue as JSON."""

from django.http import JsonResponse

from ..models import Product


# TODO(09.4): the shop's apps poll this every few seconds; each poll builds the whole answer,
# queries and all, even when nothing in the catalogue has changed since the poll before.
def product_list(request):
    """Every product in the catalogue, with its category and tags."""
    # TODO(02.7): fetch only what the JSON uses (the long descriptions are never sent),
    # and the categories and tags in a fixed number of queries.
    data = []
    for product in Product.objects.order_by("pk"):
        data.append({
            "id": product.pk,
            "name": product.name,
            "slug": product.slug,
            "price": str(product.price),
            "stock": product.stock,
            "active": product.is_active,
            "category": product.category.name,
            "tags": [tag.name for tag in product.tags.all()],
        })
    # TODO(04.5): the whole catalogue in one response (hundreds of KiB on real data). Send it
    # a page at a time in name order, with a `next` link, like the orders API.
    return JsonResponse({"count": len(data), "results": data})
