"""The shop's URLs."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="shop:product_list", permanent=False)),
    path("admin/", admin.site.urls),
    # TODO(10.1): /metrics for Prometheus: django-prometheus's numbers (its app and its two
    # middleware go in the settings), added up across all the server's workers, and shown
    # only to a request that carries the token in METRICS_TOKEN.
    path("api/", include("shop.api_urls")),
    path("", include("shop.urls")),
]

# TODO(01.1): in development, add the debug toolbar's URLs (only when its app is installed).
