"""Price changes: the merchandising team raises or lowers a whole category at once."""

from decimal import ROUND_HALF_UP, Decimal

from .models import Product

CENT = Decimal("0.01")


def new_price(price, percent):
    """`price` changed by `percent` (10 = ten percent more), rounded half-up to the cent."""
    return (price * (1 + Decimal(percent) / 100)).quantize(CENT, rounding=ROUND_HALF_UP)


def change_prices(category, percent):
    """Change the price of every product in `category` by `percent`; return how many changed."""
    # TODO(02.6): this saves one product at a time; write all the new prices in a fixed
    # number of queries, however many products the category has (same prices to the cent).
    changed = 0
    for product in Product.objects.filter(category=category):
        product.price = new_price(product.price, percent)
        product.save()
        changed += 1
    return changed
