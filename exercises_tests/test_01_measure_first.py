"""Chapter 01 — measure first: graders.

01.1 django-debug-toolbar on development pages, never in production.
01.2 a query-budget helper that catches an N+1 and lets fixed code through.
01.3 pyinstrument profiles a page on ``?profile`` in development only.

01.1 and 01.3 run real requests through the project in fresh processes, under
its development and its production settings (``project_runner``): what a
developer and a customer would get, not what the grader's own process imports.
"""

from __future__ import annotations

import html
import importlib
import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from project_runner import ProjectRunError

TOOLBAR_MARK = 'id="djDebug"'
PAGE = "/products/"
TOOLBAR_MIDDLEWARE = "debug_toolbar.middleware.DebugToolbarMiddleware"
PROFILER_MIDDLEWARE = "pyinstrument.middleware.ProfilerMiddleware"

DEV_PAGES = [PAGE, PAGE + "?profile"]


def _pages(project, settings_module: str, *, secure: bool = False, hint: int = 1):
    """The plain page and the ?profile page under ``settings_module``, or the reason the
    project could not start, in the grader's words."""
    try:
        return project.get_many(settings_module, DEV_PAGES, secure=secure)
    except ProjectRunError as error:
        cause = str(error).removeprefix(f"{settings_module} failed: ")
        if "debug_toolbar" in cause and settings_module.endswith("production"):
            pytest.fail(
                f"the project does not start under {settings_module}: it imports the debug "
                f"toolbar, an app production does not install ({cause}). In config/urls.py, "
                "add the toolbar's URLs only when \"debug_toolbar\" is in INSTALLED_APPS "
                "[hint 2]", pytrace=False)
        pytest.fail(f"the project does not start under {settings_module}: {cause} [hint {hint}]",
                    pytrace=False)


def _server_error(response) -> str:
    """'NoReverseMatch: …' from Django's technical 500 page, or the exception the request
    raised (production has no technical page), or the status alone."""
    title = re.search(r'<pre class="exception_value">(.*?)</pre>', response.body, re.S)
    kind = re.search(r"<title>(\w+)", response.body)
    if title:
        return f"{kind[1] + ': ' if kind else ''}{html.unescape(title[1]).strip()}"
    return response.error or f"HTTP {response.status}"


def test_01_1_toolbar_in_dev_only(project, measured):
    dev, _ = _pages(project, "config.settings.dev")
    shown = dev.status == 200 and TOOLBAR_MARK in dev.body
    measured(
        "toolbar on the page" if shown else f"no toolbar (HTTP {dev.status})",
        target="toolbar in dev",
    )
    if dev.status != 200:
        cause = _server_error(dev)
        if "djdt" in cause:
            pytest.fail(f"{PAGE} answered {dev.status} under config.settings.dev ({cause}): the "
                        "toolbar's URLs are not in config/urls.py; add debug_toolbar_urls() "
                        "when the app is installed [hint 2]", pytrace=False)
        pytest.fail(f"{PAGE} answered {dev.status} under config.settings.dev ({cause})",
                    pytrace=False)
    if not shown:
        missing = [what for what, there in (
            ("the app \"debug_toolbar\" in INSTALLED_APPS",
             "debug_toolbar" in dev.installed_apps),
            (f"\"{TOOLBAR_MIDDLEWARE}\" in MIDDLEWARE", TOOLBAR_MIDDLEWARE in dev.middleware),
        ) if not there]
        if missing:
            pytest.fail(f"{PAGE} under config.settings.dev has no debug toolbar: dev.py does "
                        f"not add {' and '.join(missing)} [hint 1]", pytrace=False)
        pytest.fail(f"{PAGE} under config.settings.dev has no debug toolbar, though its app and "
                    "middleware are installed: it only shows to INTERNAL_IPS (the request comes "
                    "from 127.0.0.1) while DEBUG is True [hint 2]", pytrace=False)

    production, _ = _pages(project, "config.settings.production", secure=True)
    assert production.status == 200, (
        f"{PAGE} answered {production.status} in production ({_server_error(production)})"
    )
    assert TOOLBAR_MARK not in production.body, "production pages show the debug toolbar [hint 1]"
    installed = [app for app in production.installed_apps if app.startswith("debug_toolbar")]
    middleware = [m for m in production.middleware if m.startswith("debug_toolbar")]
    assert not installed and not middleware, (
        f"config.settings.production has the debug toolbar in "
        f"{'INSTALLED_APPS' if installed else 'MIDDLEWARE'}: a production server would load a "
        "development tool (and production installs may not have it). Add it in dev.py only "
        "[hint 1]"
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


def _raised(query_budget, limit, block) -> BaseException | None:
    """What ``with query_budget(limit): block()`` raised, or None."""
    try:
        with query_budget(limit):
            block()
    except Exception as error:
        return error
    return None


def _described(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:160] if text else ''}"


@pytest.mark.django_db
def test_01_2_query_budget_helper(shop, measured):
    query_budget = _load_budget()
    for orders in (10, 40):
        shop("tiny", customers=8, orders=orders)
        with CaptureQueriesContext(connection) as captured:
            _orders_naive()
        naive_queries = len(captured.captured_queries)
        error = _raised(query_budget, 5, _orders_naive)
        if error is None:
            measured(f"{naive_queries} queries, no error", target="AssertionError over budget 5")
            pytest.fail(
                f"query_budget(5) let {naive_queries} queries through (an N+1 over {orders} "
                "orders) without raising AssertionError: count the queries the block ran on "
                "the connection (CaptureQueriesContext records them whatever DEBUG says) "
                "[hint 2]", pytrace=False)
        if not isinstance(error, AssertionError):
            pytest.fail(
                f"query_budget(5) over {naive_queries} queries raised {_described(error)}; "
                "a budget fails a test the way assert does: raise AssertionError [hint 2]",
                pytrace=False)
        message = str(error)
        measured(f"{naive_queries} queries → AssertionError", target="AssertionError")
        assert str(naive_queries) in message, (
            f"the error should say how many queries ran ({naive_queries}); it says: "
            f"{message[:200]!r} [hint 2]"
        )
        assert "shop_customer" in message, (
            "the error should show the SQL that ran, so the N+1 can be seen (each order loads "
            f"its customer from shop_customer); it says: {message[:200]!r} [hint 2]"
        )

        error = _raised(query_budget, naive_queries, _orders_naive)
        assert error is None, (
            f"query_budget({naive_queries}) raised for exactly {naive_queries} queries "
            f"({_described(error) if error else ''}): only more queries than the budget are "
            "too many"
        )
        error = _raised(query_budget, 1, _orders_fixed)
        assert error is None, (
            f"query_budget(1) raised for one query (a select_related list): {_described(error)}"
            if error else ""
        )

        def in_transaction():
            with transaction.atomic():
                _orders_fixed()

        error = _raised(query_budget, 1, in_transaction)
        assert error is None, (
            "query_budget(1) raised for one query inside transaction.atomic(): SAVEPOINT and "
            "RELEASE SAVEPOINT are not queries the code asked for; leave them out of the count "
            f"({_described(error) if error else ''}) [hint 3]"
        )


def test_01_3_profile_in_dev_only(project, measured):
    plain, profiled = _pages(project, "config.settings.dev")
    is_profile = profiled.status == 200 and "pyinstrument" in profiled.body.lower()
    measured(
        "profile report" if is_profile else f"no profile (HTTP {profiled.status})",
        target="pyinstrument report on ?profile",
    )
    if not is_profile:
        if profiled.status != 200:
            pytest.fail(f"{PAGE}?profile answered {profiled.status} under config.settings.dev "
                        f"({_server_error(profiled)})", pytrace=False)
        added = PROFILER_MIDDLEWARE in profiled.middleware
        pytest.fail(f"{PAGE}?profile under config.settings.dev is the normal page, not a "
                    "pyinstrument report"
                    + ("" if added else f": \"{PROFILER_MIDDLEWARE}\" is not in MIDDLEWARE")
                    + (" [hint 2]" if not added else ""), pytrace=False)
    assert "product_list" in profiled.body, "the profile does not show the product list view"

    assert plain.status == 200 and "pyinstrument" not in plain.body.lower(), (
        "without ?profile the development page must be the normal page"
    )

    _, production = _pages(project, "config.settings.production", secure=True)
    assert production.status == 200, (
        f"{PAGE}?profile answered {production.status} in production ({_server_error(production)})"
    )
    assert "pyinstrument" not in production.body.lower(), (
        "production serves profiles: anyone adding ?profile to a URL sees the shop's code and "
        "costs the server a profile. Add the middleware in dev.py only [hint 2]"
    )
    assert not any(m.startswith("pyinstrument") for m in production.middleware), (
        "config.settings.production has the pyinstrument middleware: add it in dev.py only "
        "[hint 2]"
    )
