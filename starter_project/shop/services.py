"""The shop's writes: what changes the shop's data, asked with keyword arguments.

A service takes plain values and model instances, never the request; it does its work in
one transaction and says what went wrong by raising a ShopError (shop/errors.py), never an
HTTP answer.
"""

# TODO(13.2): place_order(*, customer, lines): the order, saved and confirmed, as the checkout
# (shop/checkout.py) saves it; ProductNotOnSale for a line whose product is not on sale. One
# place, not each view, turns a ShopError into an HTTP answer.
