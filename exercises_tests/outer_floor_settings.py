"""The floor a cached page is held to (09.5): the trivial views (``floor_urls``) behind the
layers every request of the project passes before anyone looks at the visitor's session —
security headers, static files, and from chapter 10 on the health checks, metrics, request
log and Server-Timing. A copy answered right under those layers can come close to it; the
shop's own middleware (``shop.middleware``, the copy among it) and everything from the
sessions down stay out, as a copy skips them.

Measured against a floor with no middleware at all (``floor_settings``), monitoring added in
a later chapter would lower the page's ratio, and 09.5 would fail for work that is not its
own."""

from config.settings.production import *  # noqa: F403
from config.settings.production import MIDDLEWARE as PRODUCTION_MIDDLEWARE

SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
_OUTER = (PRODUCTION_MIDDLEWARE[:PRODUCTION_MIDDLEWARE.index(SESSIONS)]
          if SESSIONS in PRODUCTION_MIDDLEWARE else PRODUCTION_MIDDLEWARE)
MIDDLEWARE = [path for path in _OUTER if not path.startswith("shop.middleware.")]
ROOT_URLCONF = "floor_urls"
# the admin asks for the middleware the floor goes without; nothing here serves the admin
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]
