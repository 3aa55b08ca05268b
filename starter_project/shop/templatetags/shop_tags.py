"""Template helpers for the shop's layout."""

from django import template

from shop.bestsellers import best_sellers
from shop.models import Category

register = template.Library()


@register.inclusion_tag("shop/_category_sidebar.html")
def category_sidebar():
    """The category menu: every category with the number of products on sale in it."""
    # TODO(05.3): one COUNT query per category, on every page.
    categories = []
    for category in Category.objects.order_by("name"):
        count = category.product_set.filter(is_active=True).count()
        categories.append({"name": category.name, "slug": category.slug, "count": count})
    return {"categories": categories}


@register.inclusion_tag("shop/_best_sellers.html")
def best_sellers_box():
    """The five best-selling products, with the units sold."""
    return {"best_sellers": best_sellers(limit=5)}
