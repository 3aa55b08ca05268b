"""The shop's URLs."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from shop.sign_in_limit import limit_sign_in

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="shop:product_list", permanent=False)),
    # Before the admin's own URLs: its sign-in, with a limit on failures (shop/sign_in_limit.py).
    path("admin/login/", limit_sign_in(admin.site.login)),
    path("admin/", admin.site.urls),
    # TODO(10.1): /metrics for Prometheus: django-prometheus's numbers (its app and its two
    # middleware go in the settings), added up across all the server's workers, and shown
    # only to a request that carries the token in METRICS_TOKEN.
    path("api/", include("shop.api_urls")),
    path("", include("shop.urls")),
]

# TODO(01.1): in development, add the debug toolbar's URLs (only when its app is installed).
