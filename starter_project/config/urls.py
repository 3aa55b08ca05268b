"""The shop's URLs."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from shop.sign_in_limit import limit_sign_in

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="shop:product_list", permanent=False)),
    # Before the admin's own URLs: its sign-in, with a limit on failures (shop/sign_in_limit.py).
    path("admin/login/", limit_sign_in(admin.site.login)),
    # Staff who forgot their password: the admin's sign-in page links to the first of these
    # ("Forgot your password?"), which mails a link to the third.
    # TODO(12.5): the mail's link is built from the Host the request came with: asked
    # through any name in ALLOWED_HOSTS (an instance's own address, say), it sends the staff
    # member there, over http.
    path("admin/password_reset/", auth_views.PasswordResetView.as_view(),
         name="admin_password_reset"),
    path("admin/password_reset/done/", auth_views.PasswordResetDoneView.as_view(),
         name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    path("admin/", admin.site.urls),
    # TODO(10.1): /metrics for Prometheus: django-prometheus's numbers (its app and its two
    # middleware go in the settings), added up across all the server's workers, and shown
    # only to a request that carries the token in METRICS_TOKEN.
    path("api/", include("shop.api_urls")),
    path("", include("shop.urls")),
]

# TODO(01.1): in development, add the debug toolbar's URLs (only when its app is installed).
