"""Generated shop data for development: realistic, quick to write, the same every time.

    seed_shop("medium")                    # a two-year-old shop with 60,000 orders
    seed_shop("tiny", orders=40)           # a scale with some counts changed

The data depends only on the scale, the counts and the seed: dates count back
from a fixed day, not from today, and ids start again at 1.
"""

import random
import unicodedata
from bisect import bisect_left
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import accumulate

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils.text import slugify

from .models import Category, Customer, Order, OrderItem, Product, Review, Tag

# `days` is how long the shop has been trading: the orders spread over it.
SCALES = {
    "tiny": {
        "customers": 20, "categories": 5, "tags": 10, "products": 30,
        "orders": 60, "items_per_order": 3, "reviews": 40, "days": 60,
    },
    "small": {
        "customers": 200, "categories": 8, "tags": 20, "products": 300,
        "orders": 1_500, "items_per_order": 4, "reviews": 1_000, "days": 120,
    },
    "medium": {
        "customers": 3_000, "categories": 12, "tags": 40, "products": 2_000,
        "orders": 60_000, "items_per_order": 4, "reviews": 40_000, "days": 730,
    },
    "large": {
        "customers": 9_000, "categories": 16, "tags": 60, "products": 6_000,
        "orders": 180_000, "items_per_order": 4, "reviews": 120_000, "days": 730,
    },
}

# The last trading day of the generated history.
LAST_DAY = datetime(2025, 6, 30, 23, 59, tzinfo=timezone.utc)
BATCH_SIZE = 2_000
USERNAME_PREFIX = "shopper-"

FIRST_NAMES = [
    "Ada", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hugo", "Inès", "Jun", "Kofi",
    "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Ugo", "Vera",
    "Wen", "Ximena", "Yusuf", "Zoë", "Amara", "Bruno", "Cyril", "Dalia", "Emil", "Freya",
]
LAST_NAMES = [
    "Ahmed", "Brown", "Costa", "Dubois", "Evans", "Fischer", "García", "Hansen", "Ito",
    "Jones", "Kowalski", "López", "Müller", "Nowak", "Olsen", "Patel", "Rossi", "Silva",
    "Takahashi", "Urban", "Varga", "Weber", "Yilmaz", "Zhang", "Novák", "Murphy", "Okafor",
]
CITIES = [
    "Lisbon", "Berlin", "Lyon", "Leeds", "Porto", "Gdańsk", "Turin", "Ghent", "Cork", "Malmö",
    "Bilbao", "Utrecht", "Brno", "Tampere", "Graz", "Aarhus", "Nantes", "Bologna",
]
# Category names and what each one sells.
CATALOGUE = {
    "Kitchen": ["Kettle", "Mug", "Teapot", "Cutting Board", "Knife Set", "Salad Bowl"],
    "Garden": ["Planter", "Watering Can", "Pruning Shears", "Bird Feeder", "Hose Reel"],
    "Books": ["Cookbook", "Travel Guide", "Novel", "Atlas", "Sketchbook"],
    "Toys": ["Puzzle", "Building Blocks", "Kite", "Rocking Horse", "Train Set"],
    "Outdoor": ["Backpack", "Tent", "Hammock", "Camping Stove", "Water Bottle"],
    "Office": ["Notebook", "Desk Organiser", "Desk Lamp", "Fountain Pen", "Monitor Stand"],
    "Lighting": ["Lamp", "Lantern", "Pendant Light", "String Lights", "Floor Lamp"],
    "Audio": ["Speaker", "Headphones", "Record Player", "Radio", "Earbuds"],
    "Bathroom": ["Towel Set", "Bath Mat", "Soap Dish", "Mirror", "Shower Caddy"],
    "Pets": ["Dog Bed", "Cat Tree", "Leash", "Feeding Bowl", "Pet Carrier"],
    "Bikes": ["Bike Light", "Helmet", "Bike Lock", "Pannier", "Pump"],
    "Crafts": ["Yarn Kit", "Embroidery Hoop", "Clay Set", "Loom", "Paper Pack"],
    "Tea & Coffee": ["Coffee Grinder", "French Press", "Tea Tin", "Pour-Over Set"],
    "Games": ["Board Game", "Card Game", "Chess Set", "Dice Set", "Jigsaw"],
    "Tools": ["Hammer", "Screwdriver Set", "Tool Box", "Tape Measure", "Spirit Level"],
    "Art supplies": ["Watercolour Set", "Easel", "Brush Set", "Canvas Pack", "Pastels"],
}
CATEGORY_NAMES = list(CATALOGUE)
TAG_NAMES = [
    "gift", "eco", "bestseller", "new", "handmade", "sale", "vegan", "recycled", "limited",
    "family", "travel", "compact", "premium", "classic", "kids", "outdoor", "waterproof",
    "wireless", "organic", "local", "fair trade", "bundle", "refill", "seasonal",
]
ADJECTIVES = [
    "Classic", "Compact", "Deluxe", "Eco", "Folding", "Handmade", "Modern", "Rustic", "Smart",
    "Travel", "Vintage", "Wooden", "Nordic", "Everyday", "Pro", "Mini", "Large", "Ceramic",
]
DESCRIPTION_SENTENCES = [
    "Designed for everyday use and built to last for years.",
    "Made from responsibly sourced materials by a small workshop.",
    "Easy to clean: a damp cloth is all it needs.",
    "Its compact shape fits on the smallest shelf or desk.",
    "A thoughtful gift for friends, family and colleagues.",
    "Comes in recyclable packaging without any plastic.",
    "Tested by our team for a full season before we stocked it.",
    "Pairs well with the other pieces of the same collection.",
    "The finish may vary slightly, which makes each piece unique.",
    "Light enough to carry around, sturdy enough to stay put.",
    "Covered by a two-year warranty and our thirty-day return policy.",
    "Customers tell us it is the one thing they would buy again.",
    "Assembly takes about five minutes and needs no tools.",
    "Available while stocks last; we restock every few weeks.",
]
REVIEW_SENTENCES = {
    1: ["Broke after a week.", "Not as described.", "Would not buy again.",
        "Arrived damaged and support was slow to answer."],
    2: ["Smaller than expected.", "Does the job, barely.", "The finish scratches easily.",
        "Overpriced for what it is."],
    3: ["Fine for the price.", "Nothing special, nothing wrong.", "Delivery took a while.",
        "It is okay, the colour is a bit off."],
    4: ["Good value.", "Well made and arrived quickly.", "Very happy with it.",
        "Nice quality, the instructions could be clearer."],
    5: ["Exactly what I wanted.", "Excellent quality, highly recommended.",
        "Bought a second one as a gift.", "Beautiful and useful, five stars."],
}
ORDER_NOTES = [
    "Please leave the parcel with a neighbour.", "Gift wrap, please.",
    "Deliver after 5 pm.", "No invoice in the parcel, it is a present.",
    "Ring twice, the bell is quiet.",
]


def seed_shop(
    scale: str = "tiny",
    *,
    progress: Callable[[str, int, int], None] | None = None,
    seed: int = 42,
    **counts: int,
) -> dict[str, int]:
    """Replace the shop's data with generated data and return the number of rows per table.

    `counts` (customers, categories, tags, products, orders, items_per_order,
    reviews, days) override the scale's. `progress(table, done, total)` is
    called after every batch written.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    unknown = set(counts) - set(SCALES[scale])
    if unknown:
        raise TypeError(f"unknown count(s): {', '.join(sorted(unknown))}")
    size = {**SCALES[scale], **counts}
    rng = random.Random(seed)
    first_day = LAST_DAY - timedelta(days=size["days"])

    with transaction.atomic():
        delete_shop_data()
        customers = _create_customers(rng, size["customers"], first_day, progress)
        categories = _create_categories(size["categories"], progress)
        tags = _create_tags(size["tags"], progress)
        products = _create_products(rng, size["products"], categories, tags, first_day, progress)
        # A few products sell far more than the rest.
        popularity = list(accumulate(rng.paretovariate(1.3) for _ in products))
        reviews = _create_reviews(
            rng, size["reviews"], products, popularity, customers, first_day, progress
        )
        orders, items = _create_orders(
            rng, size, customers, products, popularity, first_day, progress
        )

    return {
        "customers": len(customers),
        "categories": len(categories),
        "tags": len(tags),
        "products": len(products),
        "reviews": reviews,
        "orders": orders,
        "order items": items,
    }


def delete_shop_data():
    """Delete every shop row and the user accounts the seed made; ids start again at 1."""
    OrderItem.objects.all().delete()
    Order.objects.all().delete()
    Review.objects.all().delete()
    Product.tags.through.objects.all().delete()
    Product.objects.all().delete()
    Tag.objects.all().delete()
    Category.objects.all().delete()
    Customer.objects.all().delete()
    User.objects.filter(username__startswith=USERNAME_PREFIX).delete()

    models = [Customer, Category, Tag, Product, Product.tags.through, Review, Order, OrderItem]
    sequences = [{"table": model._meta.db_table, "column": "id"} for model in models]
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_by_name_sql(no_style(), sequences):
            cursor.execute(sql)


def _save(model, rows, table, progress):
    """Insert `rows` in batches; returns them with their primary keys set."""
    for start in range(0, len(rows), BATCH_SIZE):
        model.objects.bulk_create(rows[start:start + BATCH_SIZE])
        if progress:
            progress(table, min(start + BATCH_SIZE, len(rows)), len(rows))
    if rows and rows[0].pk is None:  # databases that do not return ids from bulk inserts
        pks = model.objects.order_by("-pk").values_list("pk", flat=True)[:len(rows)]
        for row, pk in zip(rows, reversed(list(pks))):
            row.pk = pk
    return rows


def _ascii(text):
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _random_moment(rng, first_day, days):
    return first_day + timedelta(minutes=rng.randrange(days * 24 * 60))


def _create_customers(rng, count, first_day, progress):
    # One unusable password for everyone: hashing one per user would take minutes.
    password = make_password(None)
    joined = sorted(
        first_day - timedelta(days=365) + timedelta(minutes=rng.randrange(500 * 24 * 60))
        for _ in range(count)
    )
    people = []
    for n in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{_ascii(first)}.{_ascii(last)}{n + 1}@example.com".lower().replace(" ", "")
        people.append((first, last, email, joined[n]))

    users = [
        User(
            username=f"{USERNAME_PREFIX}{n + 1:05d}", first_name=first, last_name=last,
            email=email, password=password, date_joined=when,
        )
        for n, (first, last, email, when) in enumerate(people)
    ]
    _save(User, users, "users", progress)
    customers = [
        Customer(
            user_id=user.pk, name=f"{first} {last}", email=email,
            city=rng.choice(CITIES), created_at=when,
        )
        for user, (first, last, email, when) in zip(users, people)
    ]
    return _save(Customer, customers, "customers", progress)


def _create_categories(count, progress):
    categories = []
    for n in range(count):
        name = CATEGORY_NAMES[n % len(CATEGORY_NAMES)]
        if n >= len(CATEGORY_NAMES):
            name = f"{name} {n // len(CATEGORY_NAMES) + 1}"
        categories.append(Category(name=name, slug=slugify(name)))
    return _save(Category, categories, "categories", progress)


def _create_tags(count, progress):
    tags = []
    for n in range(count):
        name = TAG_NAMES[n % len(TAG_NAMES)]
        if n >= len(TAG_NAMES):
            name = f"{name} {n // len(TAG_NAMES) + 1}"
        tags.append(Tag(name=name))
    return _save(Tag, tags, "tags", progress)


def _create_products(rng, count, categories, tags, first_day, progress):
    products = []
    for n in range(count):
        index = rng.randrange(len(categories))
        category = categories[index]
        things = CATALOGUE[CATEGORY_NAMES[index % len(CATEGORY_NAMES)]]
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(things)}"
        # Whole euros, mostly ending in .99 or .49, like real price tags.
        cents = rng.randrange(2, 250) * 100 + rng.choice([99, 99, 99, 49, 0, 95])
        paragraphs = [
            " ".join(rng.sample(DESCRIPTION_SENTENCES, rng.randint(4, 7)))
            for _ in range(rng.randint(2, 4))
        ]
        products.append(Product(
            category_id=category.pk,
            name=name,
            slug=f"{slugify(name)}-{n + 1}",
            description="\n\n".join(paragraphs),
            price=Decimal(cents).scaleb(-2),
            stock=rng.randrange(0, 400),
            is_active=rng.random() > 0.05,
            created_at=first_day - timedelta(days=rng.randrange(0, 200)),
        ))
    _save(Product, products, "products", progress)

    through = Product.tags.through
    links = [
        through(product_id=product.pk, tag_id=tag.pk)
        for product in products
        for tag in rng.sample(tags, min(rng.randint(1, 4), len(tags)))
    ]
    _save(through, links, "product tags", progress)
    return products


def _pick(rng, rows, cumulative):
    """One row, chosen with the weights whose running totals are `cumulative`."""
    return rows[bisect_left(cumulative, rng.random() * cumulative[-1])]


def _create_reviews(rng, count, products, popularity, customers, first_day, progress):
    if not products or not customers:
        return 0
    days = (LAST_DAY - first_day).days
    ratings = [1, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5]
    reviews = []
    for _ in range(count):
        rating = rng.choice(ratings)
        reviews.append(Review(
            product_id=_pick(rng, products, popularity).pk,
            customer_id=rng.choice(customers).pk,
            rating=rating,
            body=" ".join(rng.sample(REVIEW_SENTENCES[rating], rng.randint(1, 3))),
            created_at=_random_moment(rng, first_day, days),
        ))
    _save(Review, reviews, "reviews", progress)
    return len(reviews)


def _order_status(rng, age):
    """Recent orders are still being paid for or packed; older ones have shipped."""
    if age < timedelta(days=2):
        return rng.choice(["pending", "pending", "paid", "paid", "cancelled"])
    if age < timedelta(days=5):
        return rng.choice(["paid", "shipped", "shipped", "shipped"])
    roll = rng.random()
    if roll < 0.06:
        return "cancelled"
    if roll < 0.08:
        return "pending"  # never paid
    return "shipped"


def _create_orders(rng, size, customers, products, popularity, first_day, progress):
    if not products or not customers:
        return 0, 0
    moments = sorted(_random_moment(rng, first_day, size["days"]) for _ in range(size["orders"]))
    orders = [
        Order(
            customer_id=rng.choice(customers).pk,
            status=_order_status(rng, LAST_DAY - moment),
            created_at=moment,
            note=rng.choice(ORDER_NOTES) if rng.random() < 0.1 else "",
        )
        for moment in moments
    ]
    _save(Order, orders, "orders", progress)

    prices = {product.pk: product.price for product in products}
    most_lines = max(1, 2 * size["items_per_order"] - 1)
    items = []
    for order in orders:
        lines = min(rng.randint(1, most_lines), len(products))
        chosen = {}
        while len(chosen) < lines:
            chosen[_pick(rng, products, popularity).pk] = None
        for product_pk in chosen:
            items.append(OrderItem(
                order_id=order.pk,
                product_id=product_pk,
                quantity=rng.choice([1, 1, 1, 1, 2, 2, 3, 4]),
                unit_price=prices[product_pk],
            ))
    _save(OrderItem, items, "order items", progress)
    return len(orders), len(items)
