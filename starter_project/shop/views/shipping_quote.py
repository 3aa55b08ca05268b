"""A product's delivery price to a postcode, asked of the carrier's quote service."""

from django.shortcuts import get_object_or_404, render

from ..models import Product
from ..shipping import fetch_quote


# TODO(08.3): a sync view: the worker (or, under ASGI, a thread) waits, doing nothing else,
# for as long as the carrier takes.
def shipping_quote(request, slug):
    """The carrier's price and delay for sending this product to ``?postcode=``."""
    product = get_object_or_404(Product, slug=slug)
    postcode = request.GET.get("postcode", "").strip()[:12]
    quote = fetch_quote(product.pk, postcode) if postcode else None
    return render(request, "shop/shipping_quote.html",
                  {"product": product, "postcode": postcode, "quote": quote})
