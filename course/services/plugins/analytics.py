"""The marketing team's analytics collector (``course/services/quotes.py``): the outside HTTP
service the shop tells of every visit to its trending page (chapter 14), slow or hanging on
demand."""

from __future__ import annotations

from course.services.plugins.quotes import OutsideService


class Analytics(OutsideService):
    name = "analytics"
    summary = "the analytics collector the shop posts page views to (slow, or hanging, on demand)"
    preferred_port = 8131
    variable = "ANALYTICS_URL"


SERVICE = Analytics()
