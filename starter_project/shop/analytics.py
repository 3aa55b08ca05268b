"""Page views for the marketing team's analytics collector (``ANALYTICS_URL`` in the settings).

The collector takes one JSON object per event (``POST /events``). Like the carrier's quote
service, it is outside the shop's control: slow at times, down at others. With no address
set (a checkout run without the course's services), no event is sent.
"""

import json
import urllib.request

from django.conf import settings
from django.utils import timezone


def page_view(request, page):
    """The event of one visit to ``page``: plain JSON values, what the collector stores."""
    return {
        "event": "page_view",
        "page": page,
        "path": request.get_full_path(),
        "at": timezone.now().isoformat(),
        "referrer": request.headers.get("Referer", ""),
    }


def send_event(event):
    """Post one event to the collector. An answer it refuses (503 …) raises an error."""
    if not settings.ANALYTICS_URL:
        return
    request = urllib.request.Request(
        f"{settings.ANALYTICS_URL}/events",
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:
        answer.read()


def record_page_view(request, page):
    """Tell the collector that someone looked at ``page``."""
    # TODO(14.5): the visitor waits while the collector takes the event: every visit is as
    # slow as the collector, and a collector that stops answering stops the page with it.
    send_event(page_view(request, page))
