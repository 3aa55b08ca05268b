"""Delivery prices from the carrier's quote service (``SHIPPING_QUOTES_URL`` in the settings).

The carrier answers ``GET /quote?product=ID&postcode=CODE`` with JSON: carrier, price,
currency and days. Its service is outside the shop's control: slow at times, down at others.
"""

import json
import urllib.parse
import urllib.request

from django.conf import settings


# TODO(08.3): a blocking client: inside an async view it would stop every other request of
# the worker while it waits.
def fetch_quote(product_id, postcode):
    """The carrier's quote for sending one product to ``postcode``, as a dict."""
    query = urllib.parse.urlencode({"product": product_id, "postcode": postcode})
    # TODO(08.2): no timeout: when the carrier's service stops answering, this waits for ever,
    # and holds one of the app server's few workers while it does. An error (refused, 503, a
    # timeout) fails the whole page as well.
    with urllib.request.urlopen(f"{settings.SHIPPING_QUOTES_URL}/quote?{query}") as answer:
        return json.load(answer)
