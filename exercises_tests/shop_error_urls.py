"""The project's URLs, plus two views of the graders' own (13.2): ``/course-shop-error/``
raises a ShopError that no view of the shop knows (``ShopClosed``, status 503), and
``/course-bug/`` raises a plain RuntimeError, as a bug does. The first must be answered by
the one place that maps the shop's errors; the second must stay a 500."""

from config.urls import urlpatterns as project_urls
from django.urls import path
from shop.errors import ShopError

CLOSED_MESSAGE = "The shop is closed for stocktaking until 9 o'clock."
BUG_MESSAGE = "a bug in the course's own view"


class ShopClosed(ShopError):
    """A ShopError no view of the shop has ever seen."""

    status_code = 503


def shop_closed(request):
    raise ShopClosed(CLOSED_MESSAGE)


def bug(request):
    raise RuntimeError(BUG_MESSAGE)


urlpatterns = [
    path("course-shop-error/", shop_closed),
    path("course-bug/", bug),
    *project_urls,
]
