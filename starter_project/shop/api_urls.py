"""URLs of the JSON API, under /api/."""

from django.urls import path

from .api.orders import order_list
from .api.products import product_list

app_name = "api"

urlpatterns = [
    path("products/", product_list, name="product_list"),
    path("orders/", order_list, name="order_list"),
]
