"""The shop's own errors: what went wrong, in the shop's words rather than HTTP's.

The shop's services (shop/services.py) raise them when a visitor asks for something that
cannot be done. One place turns them into HTTP answers (exercise 13.2), so no view needs a
``try``/``except`` of its own, and nothing that is not a ShopError is ever caught by mistake.
"""


class ShopError(Exception):
    """Something a visitor asked for cannot be done; the message says what, for them to read."""

    status_code = 400  # the HTTP status of the answer


class ProductNotOnSale(ShopError):
    """An order names a product that does not exist or is no longer on sale."""

    status_code = 409  # the request was fine; the catalogue changed under it

    def __init__(self, product_id: int):
        self.product_id = product_id
        super().__init__(f"No product on sale has the id {product_id}.")
