"""Generate realistic shop data, fast and the same every time for a given seed."""

import random
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction

from .models import Category, Customer, Order, OrderItem, Product, Review, Tag

SCALES = {
    "tiny": dict(customers=20, categories=5, tags=10, products=30, orders=60,
                 items_per_order=3, reviews=40),
    "small": dict(customers=200, categories=8, tags=20, products=300, orders=1500,
                  items_per_order=4, reviews=1000),
    "medium": dict(customers=3000, categories=12, tags=40, products=2000, orders=60000,
                   items_per_order=4, reviews=40000),
    "large": dict(customers=9000, categories=16, tags=60, products=6000, orders=180000,
                  items_per_order=4, reviews=120000),
}

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
PERIOD_DAYS = 700
BATCH = 5000
USERNAME_PREFIX = "shopper-"

FIRST = ["Ada", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hugo", "Ines", "Jun",
         "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"]
LAST = ["Ahmed", "Brown", "Costa", "Dubois", "Evans", "Fischer", "García", "Hansen", "Ito",
        "Jones", "Kowalski", "Lopez", "Müller", "Nowak", "Olsen", "Patel", "Rossi", "Silva"]
CITIES = ["Lisbon", "Berlin", "Lyon", "Leeds", "Porto", "Gdańsk", "Turin", "Ghent", "Cork"]
CATEGORY_NAMES = ["Kitchen", "Garden", "Books", "Toys", "Outdoor", "Office", "Lighting",
                  "Audio", "Bathroom", "Pets", "Bikes", "Crafts", "Tea", "Games", "Tools", "Art"]
ADJECTIVES = ["Classic", "Compact", "Deluxe", "Eco", "Folding", "Handmade", "Modern",
              "Rustic", "Smart", "Travel", "Vintage", "Wooden"]
NOUNS = ["Lamp", "Kettle", "Chair", "Notebook", "Speaker", "Planter", "Backpack", "Mug",
         "Puzzle", "Blanket", "Clock", "Tray", "Brush", "Shelf", "Basket"]
WORDS = ("sturdy light warm quiet useful bright simple durable soft clever elegant handy "
         "made to last everyday gift favourite design quality").split()


def _report(progress, table, done, total):
    if progress:
        progress(table, done, total)


def _bulk(model, rows, progress, table):
    for start in range(0, len(rows), BATCH):
        model.objects.bulk_create(rows[start:start + BATCH])
        _report(progress, table, min(start + BATCH, len(rows)), len(rows))


def _delete_existing():
    OrderItem.objects.all().delete()
    Order.objects.all().delete()
    Review.objects.all().delete()
    Product.tags.through.objects.all().delete()
    Product.objects.all().delete()
    Tag.objects.all().delete()
    Category.objects.all().delete()
    Customer.objects.all().delete()
    User.objects.filter(username__startswith=USERNAME_PREFIX).delete()


def seed_shop(scale="tiny", *, progress=None, seed=42, **counts):
    """Replace the shop's data with a generated one; return the row counts.

    `counts` (customers, categories, tags, products, orders, items_per_order,
    reviews) override the chosen scale. `progress(table, done, total)` is
    called as rows are written.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    size = {**SCALES[scale], **counts}
    rng = random.Random(seed)
    with transaction.atomic():
        _delete_existing()
        password = make_password(None)

        users = [
            User(username=f"{USERNAME_PREFIX}{n}", email=f"shopper{n}@example.com",
                 password=password, date_joined=START)
            for n in range(size["customers"])
        ]
        _bulk(User, users, progress, "users")
        users = list(User.objects.filter(username__startswith=USERNAME_PREFIX).order_by("pk"))
        customers = []
        for n, user in enumerate(users):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            customers.append(Customer(
                user=user, name=name, email=f"shopper{n}@example.com",
                city=rng.choice(CITIES), created_at=START + timedelta(days=rng.randrange(300)),
            ))
        _bulk(Customer, customers, progress, "customers")
        customer_ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))

        names = (CATEGORY_NAMES * (size["categories"] // len(CATEGORY_NAMES) + 1))
        categories = [Category(name=names[n] if n < len(CATEGORY_NAMES) else f"{names[n]} {n}",
                               slug=f"category-{n}") for n in range(size["categories"])]
        _bulk(Category, categories, progress, "categories")
        category_ids = list(Category.objects.order_by("pk").values_list("pk", flat=True))

        _bulk(Tag, [Tag(name=f"tag-{n}") for n in range(size["tags"])], progress, "tags")
        tag_ids = list(Tag.objects.order_by("pk").values_list("pk", flat=True))

        products = []
        for n in range(size["products"]):
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {n}"
            products.append(Product(
                category_id=rng.choice(category_ids), name=name, slug=f"product-{n}",
                description=" ".join(rng.choice(WORDS) for _ in range(120)).capitalize() + ".",
                price=Decimal(rng.randrange(199, 25000)) / 100, stock=rng.randrange(0, 500),
                is_active=rng.random() > 0.05,
                created_at=START + timedelta(days=rng.randrange(PERIOD_DAYS)),
            ))
        _bulk(Product, products, progress, "products")
        product_rows = list(Product.objects.order_by("pk").values_list("pk", "price"))
        product_ids = [pk for pk, _ in product_rows]

        through = Product.tags.through
        links = [through(product_id=pk, tag_id=tag)
                 for pk in product_ids for tag in rng.sample(tag_ids, min(3, len(tag_ids)))]
        _bulk(through, links, progress, "product tags")

        reviews = [
            Review(product_id=rng.choice(product_ids), customer_id=rng.choice(customer_ids),
                   rating=rng.choice([1, 2, 3, 4, 4, 5, 5, 5]),
                   body=" ".join(rng.choice(WORDS) for _ in range(25)),
                   created_at=START + timedelta(days=rng.randrange(PERIOD_DAYS)))
            for _ in range(size["reviews"])
        ]
        _bulk(Review, reviews, progress, "reviews")

        statuses = ["pending", "paid", "paid", "shipped", "shipped", "shipped", "cancelled"]
        orders = [
            Order(customer_id=rng.choice(customer_ids), status=rng.choice(statuses),
                  created_at=START + timedelta(minutes=rng.randrange(PERIOD_DAYS * 24 * 60)))
            for _ in range(size["orders"])
        ]
        _bulk(Order, orders, progress, "orders")
        order_ids = list(Order.objects.order_by("pk").values_list("pk", flat=True))

        items = []
        for order_id in order_ids:
            most = min(2 * size["items_per_order"] - 1, len(product_rows))
            for pk, price in rng.sample(product_rows, rng.randint(1, most)):
                items.append(OrderItem(order_id=order_id, product_id=pk,
                                       quantity=rng.randint(1, 4), unit_price=price))
        _bulk(OrderItem, items, progress, "order items")

    return {
        "customers": len(customers), "categories": len(categories), "tags": len(tag_ids),
        "products": len(products), "reviews": len(reviews), "orders": len(orders),
        "order items": len(items),
    }


class TextProgress:
    """A one-line-per-table progress bar for the terminal."""

    def __init__(self, stream, width=30):
        self.stream = stream
        self.width = width
        self.started = time.monotonic()
        self.table = None

    def __call__(self, table, done, total):
        interactive = getattr(self.stream, "isatty", lambda: False)()
        if not interactive and done < total:
            return  # in a log, one finished line per table is enough
        if table != self.table and self.table is not None:
            self.stream.write("\n")
        self.table = table
        filled = int(self.width * done / max(total, 1))
        bar = "█" * filled + "·" * (self.width - filled)
        self.stream.write(f"\r  {table:<13} {bar} {done:>8,}/{total:,}")
        self.stream.flush()

    def close(self):
        if self.table is not None:
            self.stream.write("\n")
