"""`python manage.py change_prices kitchen 5`: change a category's prices by a percentage."""

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from shop.models import Category
from shop.pricing import change_prices


class Command(BaseCommand):
    help = "Change the price of every product in a category by a percentage (e.g. 5 or -10)."

    def add_arguments(self, parser):
        parser.add_argument("category", help="the category's slug")
        parser.add_argument("percent", help="e.g. 5 for five percent more, -10 for ten less")

    def handle(self, *args, category, percent, **options):
        try:
            percent = Decimal(percent)
        except InvalidOperation:
            raise CommandError(f"{percent!r} is not a number")
        try:
            chosen = Category.objects.get(slug=category)
        except Category.DoesNotExist:
            raise CommandError(f"there is no category {category!r}")
        changed = change_prices(chosen, percent)
        self.stdout.write(f"Changed {changed} price(s) in {chosen.name} by {percent}%.")
