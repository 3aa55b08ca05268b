"""Chapter 01 — measure first: graders.

01.1 django-debug-toolbar on development pages, never in production.
01.2 a query-budget helper that catches an N+1 and lets fixed code through.
01.3 pyinstrument profiles a page on ``?profile`` in development only.
"""

from __future__ import annotations

import importlib

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

TOOLBAR_MARK = 'id="djDebug"'
PAGE = "/products/"


DEV_PAGES = [PAGE, PAGE + "?profile"]


def test_01_1_toolbar_in_dev_only(project, measured):
    dev, _ = project.get_many("config.settings.dev", DEV_PAGES)
    shown = dev.status == 200 and TOOLBAR_MARK in dev.body
    measured(
        "toolbar on the page" if shown else f"no toolbar (HTTP {dev.status})",
        target="toolbar in dev",
    )
    assert dev.status == 200, f"{PAGE} answered {dev.status} under config.settings.dev"
    assert shown, (
        f"{PAGE} under config.settings.dev has no debug toolbar: install the app, its "
        "middleware, INTERNAL_IPS and its URLs in development"
    )

    production, _ = project.get_many("config.settings.production", DEV_PAGES, secure=True)
    assert production.status == 200, f"{PAGE} answered {production.status} in production"
    assert TOOLBAR_MARK not in production.body, "production pages show the debug toolbar"
    assert not any(app.startswith("debug_toolbar") for app in production.installed_apps), (
        "debug_toolbar is in INSTALLED_APPS under config.settings.production"
    )


def _orders_naive() -> list[str]:
    from shop.models import Order

    return [order.customer.name for order in Order.objects.all()]


def _orders_fixed() -> list[str]:
    from shop.models import Order

    return [order.customer.name for order in Order.objects.select_related("customer")]


def _load_budget():
    module = importlib.import_module("shop.query_budget")
    return module.query_budget


@pytest.mark.django_db
def test_01_2_query_budget_helper(shop, measured):
    query_budget = _load_budget()
    for orders in (10, 40):
        shop("tiny", customers=8, orders=orders)
        with CaptureQueriesContext(connection) as captured:
            _orders_naive()
        naive_queries = len(captured.captured_queries)
        try:
            with query_budget(5):
                _orders_naive()
        except AssertionError as error:
            message = str(error)
        else:
            measured(f"{naive_queries} queries, no error", target="AssertionError over budget 5")
            pytest.fail(
                f"query_budget(5) let {naive_queries} queries through "
                f"(an N+1 over {orders} orders) without raising AssertionError"
            )
        measured(f"{naive_queries} queries → AssertionError", target="AssertionError")
        assert str(naive_queries) in message, (
            f"the error should say how many queries ran ({naive_queries}); it says: {message!r}"
        )

        with query_budget(naive_queries):  # exactly on budget is fine
            _orders_naive()
        with query_budget(1):
            _orders_fixed()
        with query_budget(1):  # savepoints are not queries
            with transaction.atomic():
                _orders_fixed()


def test_01_3_profile_in_dev_only(project, measured):
    plain, profiled = project.get_many("config.settings.dev", DEV_PAGES)
    is_profile = profiled.status == 200 and "pyinstrument" in profiled.body.lower()
    measured(
        "profile report" if is_profile else f"no profile (HTTP {profiled.status})",
        target="pyinstrument report on ?profile",
    )
    assert is_profile, f"{PAGE}?profile under config.settings.dev is not a pyinstrument report"
    assert "product_list" in profiled.body, "the profile does not show the product list view"

    assert plain.status == 200 and "pyinstrument" not in plain.body.lower(), (
        "without ?profile the development page must be the normal page"
    )

    _, production = project.get_many("config.settings.production", DEV_PAGES, secure=True)
    assert production.status == 200, f"{PAGE}?profile answered {production.status} in production"
    assert "pyinstrument" not in production.body.lower(), "production serves profiles"
