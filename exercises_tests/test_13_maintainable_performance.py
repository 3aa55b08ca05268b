"""Chapter 13: maintainable performance. A selector and a service are graded as their callers
use them: called with keyword arguments and no request, counted at two data sizes, their
results read as users would see them; the views are graded on real responses, and the one
place that answers the shop's errors on errors no view of the shop knows."""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html import unescape
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.http import Http404
from django.test import Client
from django.urls import reverse

from course.measuring.measure import counted

pytestmark = pytest.mark.django_db

# 13.1 ----------------------------------------------------------------------------------------

SELECTOR_BOUND = 6  # the reference runs 3 queries for all products, 4 for one category
CATALOGUE_SIZES = (60, 180)  # products: more than one page at both sizes


def _keyword_only(function: Callable, names: tuple[str, ...], where: str) -> None:
    """Every parameter of ``function`` keyword-only, and ``names`` among them."""
    parameters = inspect.signature(function).parameters
    missing = [name for name in names if name not in parameters]
    assert not missing, (
        f"{where} takes ({', '.join(parameters)}): it should take "
        f"{', '.join(names)}, as keyword arguments, and nothing else it needs [hint 2]"
    )
    positional = [name for name, p in parameters.items()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    assert not positional, (
        f"{where} accepts {', '.join(positional)} by position: make every parameter "
        f"keyword-only (a * before them), so no caller can pass them in the wrong order "
        f"[hint 2]"
    )
    required = [name for name, p in parameters.items()
                if p.default is p.empty and p.kind is p.KEYWORD_ONLY and name not in names]
    assert not required, (
        f"{where} requires {', '.join(required)} besides {', '.join(names)}: a caller "
        f"without a request must be able to call it [hint 2]"
    )


def _function(module: str, name: str, parameters: tuple[str, ...]) -> Callable[..., Any]:
    """``shop.<module>.<name>``, a function whose ``parameters`` are all keyword-only."""
    import importlib

    try:
        found = importlib.import_module(f"shop.{module}")
    except ImportError as error:
        pytest.fail(f"shop/{module}.py cannot be imported: {error}", pytrace=False)
    function = getattr(found, name, None)
    if not callable(function):
        pytest.fail(f"shop/{module}.py has no function {name} [hint 2]", pytrace=False)
    _keyword_only(function, parameters, name)
    return function


def _read(context: Any) -> list[tuple[int, str, list[str], Any]]:
    """Everything the product list shows of a selector's context, read as the template reads
    it: each row's product, category, tags and rating, and the page's numbers."""
    assert isinstance(context, dict), (
        f"catalogue_page returned a {type(context).__name__}: it should return the template's "
        f"context, a dict with rows, category and page_obj [hint 2]"
    )
    missing = [key for key in ("rows", "category", "page_obj") if key not in context]
    assert not missing, f"catalogue_page's context has no {', '.join(missing)} [hint 2]"
    page = context["page_obj"]
    _ = (page.number, page.paginator.num_pages, page.has_next(), page.has_previous())
    return [(row["product"].pk, str(row["category"]), sorted(str(t) for t in row["tags"]),
             row["rating"]) for row in context["rows"]]


def _called(catalogue_page: Callable[..., dict], **asked: Any) -> tuple[dict, list[tuple]]:
    """The selector's context for ``asked``, and its rows read as the template reads them."""
    try:
        context = catalogue_page(**asked)
    except Exception as error:  # noqa: BLE001 - said in the grader's words
        shown = ", ".join(f"{k}={v!r}" for k, v in asked.items())
        pytest.fail(f"catalogue_page({shown}) raised {type(error).__name__}: {error}",
                    pytrace=False)
    return context, _read(context)


def _expected_rows(products: list, per_page: int, number: int) -> list[tuple]:
    from django.db.models import Avg

    chosen = products[(number - 1) * per_page:number * per_page]
    rows = []
    for product in chosen:
        mean = product.review_set.aggregate(mean=Avg("rating"))["mean"]
        rows.append((product.pk, product.category.name,
                     sorted(tag.name for tag in product.tags.all()),
                     None if mean is None else round(float(mean), 1)))
    return rows


def _compare(shown: list[tuple], expected: list[tuple], asked: str) -> None:
    shown_pks, expected_pks = [row[0] for row in shown], [row[0] for row in expected]
    assert sorted(shown_pks) == sorted(expected_pks), (
        f"catalogue_page({asked}) returned {len(shown_pks)} products; the page should show "
        f"{len(expected_pks)}, the active products of that page"
    )
    assert shown_pks == expected_pks, (
        f"catalogue_page({asked}) returned the right products in another order: by name, "
        f"then by id"
    )
    for (pk, category, tags, rating), (_, category2, tags2, rating2) in zip(shown, expected, strict=True):
        assert (category, tags) == (category2, tags2), (
            f"catalogue_page({asked}): product {pk}'s row reads {category!r} {tags}, "
            f"expected {category2!r} {tags2}"
        )
        same = rating == rating2 or (rating is not None and rating2 is not None
                                     and abs(float(rating) - rating2) < 0.05)
        assert same, f"catalogue_page({asked}): product {pk}'s rating is {rating!r}, " \
                     f"expected {rating2!r}"


@contextmanager
def _selector_replaced(original: Callable, replacement: Callable) -> Iterator[None]:
    """Every name under which the shop's modules hold ``original`` points to ``replacement``."""
    replaced = []
    for name, module in list(sys.modules.items()):
        if (name == "shop" or name.startswith("shop.")) and module is not None:
            for attribute, value in list(vars(module).items()):
                if value is original:
                    setattr(module, attribute, replacement)
                    replaced.append((module, attribute))
    try:
        yield
    finally:
        for module, attribute in replaced:
            setattr(module, attribute, original)


def test_13_1_catalogue_selector(client, shop, measured):
    from shop.models import Category, Product, Review

    catalogue_page = _function("selectors", "catalogue_page", ("category", "page"))
    counts = []
    for size in CATALOGUE_SIZES:
        shop("tiny", products=size, reviews=2 * size)
        active = list(Product.objects.filter(is_active=True).order_by("name", "pk"))
        # One product without reviews, whatever the seed: its rating is None.
        Review.objects.filter(product=active[0]).delete()
        (context, shown), count, _ = counted(_called, catalogue_page, page=2)
        counts.append(count)
        per_page = context["page_obj"].paginator.per_page
        _compare(shown, _expected_rows(active, per_page, 2), "page=2")
    measured(f"{counts[0]} queries for {CATALOGUE_SIZES[0]} products, {counts[1]} for "
             f"{CATALOGUE_SIZES[1]}", target=f"the same, at most {SELECTOR_BOUND}")
    if counts[0] != counts[1]:
        pytest.fail(
            f"catalogue_page(page=2), its rows read as the template reads them, ran "
            f"{counts[0]} queries for {CATALOGUE_SIZES[0]} products and {counts[1]} for "
            f"{CATALOGUE_SIZES[1]}: the count grows with the data, left to whoever reads "
            f"the rows (an N+1). Build every row inside the selector, from one queryset with "
            f"its select_related, prefetch_related and annotate [hint 2]", pytrace=False)
    assert counts[1] <= SELECTOR_BOUND, (
        f"catalogue_page(page=2) ran {counts[1]} queries (at most {SELECTOR_BOUND})"
    )

    category = Category.objects.filter(product__is_active=True).order_by("-pk").first()
    in_category = [p for p in active if p.category_id == category.pk]
    context, shown = _called(catalogue_page, category=category.slug)
    _compare(shown, _expected_rows(in_category, per_page, 1),
             f"category={category.slug!r}")
    assert context["category"] == category, (
        f"catalogue_page(category={category.slug!r}) should give the category itself as "
        f"'category' (the page's title names it), not {context['category']!r}"
    )
    try:
        catalogue_page(category="no-such-category")
    except Http404:
        pytest.fail("catalogue_page(category='no-such-category') raised Http404, an HTTP "
                    "answer: a selector is called by tasks and tests too. Raise the model's "
                    "DoesNotExist, and let the view turn it into its 404 [hint 3]",
                    pytrace=False)
    except Exception:  # noqa: BLE001 - any exception of the shop's: the selector said so
        pass
    else:
        pytest.fail("catalogue_page(category='no-such-category') returned a page: an unknown "
                    "category should raise (Category.DoesNotExist) [hint 3]", pytrace=False)
    answered = client.get(reverse("shop:product_list") + "?category=no-such-category")
    assert answered.status_code == 404, (
        f"/products/?category=no-such-category answered {answered.status_code}, not 404: the "
        f"view turns the selector's DoesNotExist into its 404 [hint 3]"
    )

    # The view shows what the selector returns, and asks it with the request's values.
    calls: list[dict] = []

    def reversed_rows(**kwargs: Any) -> dict:
        calls.append(kwargs)
        context = catalogue_page(**kwargs)
        return {**context, "rows": list(reversed(context["rows"]))}

    url = reverse("shop:product_list") + f"?category={category.slug}&page=1"
    with _selector_replaced(catalogue_page, reversed_rows):
        page = client.get(url)
    assert page.status_code == 200, f"{url} answered {page.status_code}"
    assert calls, (
        f"{url} did not call shop.selectors.catalogue_page: the view should take what the "
        f"page shows from the selector, not build it again [hint 2]"
    )
    asked = calls[-1]
    assert asked.get("category") == category.slug and str(asked.get("page")) == "1", (
        f"{url} called catalogue_page({', '.join(f'{k}={v!r}' for k, v in asked.items())}): "
        f"it should pass the request's category and page"
    )
    html = page.content.decode()
    expected_order = [row["product"].get_absolute_url() for row in reversed_rows(
        category=category.slug, page=1)["rows"]]
    where = [html.find(f'href="{link}"') for link in expected_order]
    assert -1 not in where and where == sorted(where), (
        f"{url} does not show the rows catalogue_page returned, in its order: the view builds "
        f"the page from a query of its own. It should render the selector's context as it is "
        f"[hint 2]"
    )


# 13.2 ----------------------------------------------------------------------------------------

SERVICE_SIZES = (2, 8)  # lines of one order
SERVICE_BOUND = 5  # the reference runs 3 (products, order, lines) whatever the lines


def _counts() -> tuple[int, int]:
    from shop.models import Order, OrderItem

    return Order.objects.count(), OrderItem.objects.count()


def _savepoints() -> int:
    """How many savepoints (atomic blocks that can be rolled back alone) are open now."""
    return sum(1 for sid in connection.savepoint_ids if sid)


@contextmanager
def _order_lines_fail(seen: dict[str, int]) -> Iterator[None]:
    """Every INSERT into the order lines' table fails, as a database that goes away does;
    ``seen`` gets how many savepoints were open beyond the caller's at that moment."""
    outer = _savepoints()

    def refuse(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT") and "shop_orderitem" in sql.lower():
            seen["savepoints"] = _savepoints() - outer
            raise DatabaseError("the course refused this INSERT into shop_orderitem")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield


def _rejects(place_order: Callable, customer, lines: list[tuple[int, int]], missing: int,
             why: str) -> None:
    from shop.errors import ProductNotOnSale

    before = _counts()
    try:
        place_order(customer=customer, lines=lines)
    except ProductNotOnSale as error:
        assert getattr(error, "product_id", None) == missing, (
            f"place_order raised ProductNotOnSale({getattr(error, 'product_id', None)!r}) for "
            f"an order whose product {missing} {why}: name that product"
        )
    except Http404:
        pytest.fail(f"place_order raised Http404 when product {missing} {why}: an HTTP "
                    f"answer from the shop's logic. Raise ProductNotOnSale(product_id) "
                    f"(shop/errors.py) [hint 1]", pytrace=False)
    except Exception as error:  # noqa: BLE001 - said in the grader's words
        pytest.fail(f"place_order raised {type(error).__name__} ({error}) when product "
                    f"{missing} {why}, not ProductNotOnSale [hint 2]", pytrace=False)
    else:
        pytest.fail(f"place_order saved an order whose product {missing} {why}", pytrace=False)
    assert _counts() == before, (
        f"place_order refused an order whose product {missing} {why}, but wrote "
        f"{_counts()[0] - before[0]} orders and {_counts()[1] - before[1]} lines first: check "
        f"every product before writing anything, in one transaction [hint 2]"
    )


def test_13_2_order_service(shop, measured):
    from shop.models import Customer, Order, Product

    place_order = _function("services", "place_order", ("customer", "lines"))
    shop("tiny", products=30, orders=5)
    customer = Customer.objects.order_by("-pk").first()
    on_sale = list(Product.objects.filter(is_active=True).order_by("-price", "-pk"))
    counts = []
    for size in SERVICE_SIZES:
        lines = [(product.pk, n + 1) for n, product in enumerate(on_sale[:size])]
        try:
            order, count, _ = counted(place_order, customer=customer, lines=lines)
        except Exception as error:  # noqa: BLE001 - said in the grader's words
            pytest.fail(f"place_order(customer=…, lines=<{size} lines>) raised "
                        f"{type(error).__name__}: {error}", pytrace=False)
        counts.append(count)
        assert isinstance(order, Order) and order.pk, (
            f"place_order should return the saved Order, not {order!r}"
        )
        order.refresh_from_db()
        saved = sorted((item.product_id, item.quantity, item.unit_price)
                       for item in order.items.all())
        expected = sorted((p.pk, n + 1, p.price) for n, p in enumerate(on_sale[:size]))
        assert order.customer_id == customer.pk and saved == expected, (
            f"the order place_order saved has the lines {saved}; expected {expected} (product, "
            f"quantity, today's price), for customer {customer.pk}"
        )
        assert order.status == Order.Status.PENDING, f"a new order is pending, not {order.status}"
    measured(f"{counts[0]} queries for {SERVICE_SIZES[0]} lines, {counts[1]} for "
             f"{SERVICE_SIZES[1]}", target=f"the same, at most {SERVICE_BOUND}")
    assert counts[0] == counts[1] <= SERVICE_BOUND, (
        f"place_order ran {counts[0]} queries for {SERVICE_SIZES[0]} lines and {counts[1]} for "
        f"{SERVICE_SIZES[1]} (at most {SERVICE_BOUND}): the count grows with the lines. Read "
        f"the products in one query and save the lines in one (bulk_create) [hint 2]"
    )

    off_sale = on_sale[3]
    Product.objects.filter(pk=off_sale.pk).update(is_active=False)
    _rejects(place_order, customer, [(on_sale[0].pk, 1), (off_sale.pk, 2), (on_sale[1].pk, 1)],
             off_sale.pk, "is no longer on sale")
    unknown = Product.objects.order_by("-pk").first().pk + 1000
    _rejects(place_order, customer, [(on_sale[0].pk, 1), (unknown, 1)], unknown,
             "does not exist")

    # Through the checkout's two views: the same error, answered 409, nothing saved.
    browser = Client(raise_request_exception=False)
    before = _counts()
    answer = browser.post(reverse("shop:place_order"), {
        "customer_id": customer.pk, "product_ids": [on_sale[0].pk, off_sale.pk],
        "quantities": [1, 1]})
    message = f"No product on sale has the id {off_sale.pk}"
    assert answer.status_code == 409 and message in answer.content.decode(), (
        f"the order form, for a product taken off sale, answered {answer.status_code} "
        + ("with its message" if message in answer.content.decode() else "without saying which")
        + ": a ProductNotOnSale is answered with its status_code (409) and its message "
        "[hint 3]"
    )
    earlier = Order.objects.filter(customer=customer).order_by("pk").first()
    earlier.items.update(product=off_sale)
    answer = browser.post(reverse("shop:order_again", args=[customer.pk]),
                          {"order_id": earlier.pk})
    assert answer.status_code == 409 and message in answer.content.decode(), (
        f"\"Order again\" of an order whose product was taken off sale answered "
        f"{answer.status_code}: both checkout views place orders through the service, and "
        f"the answer is 409 with the message [hint 2]"
    )
    assert _counts() == before, "a refused order through the checkout still wrote rows"

    # One place answers every ShopError, and nothing else.
    from django.test import override_settings
    from shop_error_urls import CLOSED_MESSAGE

    with override_settings(ROOT_URLCONF="shop_error_urls"):
        closed = browser.get("/course-shop-error/")
        bug = browser.get("/course-bug/")
    assert closed.status_code == 503 and CLOSED_MESSAGE in unescape(closed.content.decode()), (
        f"a view of the course's own that raises a ShopError with status_code 503 was "
        f"answered {closed.status_code}"
        + ("" if closed.status_code == 503 else ": the shop's errors are answered view by "
           "view, not in one place that knows every view") + " [hint 3]"
    )
    assert bug.status_code == 500, (
        f"a view of the course's own that fails with a RuntimeError (a bug) was answered "
        f"{bug.status_code}, not 500: whatever answers the shop's errors catches more than "
        f"ShopError, and hides bugs from the logs and ADMINS [hint 3]"
    )
    lines = {"customer_id": customer.pk, "product_ids": [on_sale[0].pk, on_sale[1].pk],
             "quantities": [1, 1]}
    seen: dict[str, int] = {}
    with transaction.atomic():  # rolled back here, whatever the view left half done
        with _order_lines_fail(seen):
            failed = browser.post(reverse("shop:place_order"), lines)
        transaction.set_rollback(True)
    assert failed.status_code == 500, (
        f"with the database refusing the order's lines, the order form answered "
        f"{failed.status_code}, not 500: a failure that is not the shop's own error is caught "
        f"somewhere on the way [hint 3]"
    )
    assert seen.get("savepoints", 0) > 0, (
        "with the database refusing the order's lines, the order was saved without them: "
        "nothing could roll it back alone, as no transaction was open around the order and "
        "its lines. The service is one transaction (@transaction.atomic) [hint 2]"
    )
    assert _counts() == before, "a failed order through the checkout still wrote rows"


# 13.3 ----------------------------------------------------------------------------------------

HINT_FOR_KIND = {"an N+1": 2, "a lost index": 3, "a cache that no longer hits": 3}


def test_13_3_performance_tests_catch_regressions(target_dir, measured):
    from course import catalog
    from course.measuring import regressions
    from course.project import states

    written = target_dir / regressions.TEST_FILE
    if not written.is_file():
        pytest.fail(f"there is no {regressions.TEST_FILE}: write the shop's performance tests "
                    f"there [hint 2]", pytrace=False)
    courses = catalog.load()
    fixed = states.state_before(courses, courses.exercise("13.3"))
    runs = regressions.run_against(fixed, written.read_text())
    on_fixed, on_regressed = runs[0], runs[1:]
    caught = [run for run in on_regressed if not run.passed]
    everyone = len(regressions.REGRESSIONS)
    measured(f"{len(caught)} of {everyone} regressions caught; {on_fixed.ran} tests, "
             f"{'passing' if on_fixed.passed else 'failing'} on the fixed shop "
             f"({on_fixed.seconds:.1f} s)", target=f"{everyone} of {everyone}")
    if on_fixed.ran == 0:
        why = ("it defines no test (a TestCase subclass with test_… methods)"
               if on_fixed.returncode == 0 else on_fixed.first_problem())
        pytest.fail(f"manage.py test {regressions.TEST_MODULE} ran no test: {why} [hint 2]",
                    pytrace=False)
    if not on_fixed.passed:
        pytest.fail(
            f"your performance tests fail on the course's fixed shop (the shop after 13.2, "
            f"with nothing regressed): {on_fixed.first_problem()}. A test must fail only on a "
            f"regression: compare counts at two sizes, or bound them, rather than pin the "
            f"number one implementation runs [hint 2]", pytrace=False)
    missed = [run for run in on_regressed if run.passed]
    if missed:
        first = missed[0].regression
        more = f" (and {len(missed) - 1} more regressions)" if len(missed) > 1 else ""
        pytest.fail(
            f"your performance tests all pass on a shop where {first.says}: {first.kind} that "
            f"goes unnoticed{more} [hint {HINT_FOR_KIND.get(first.kind, 2)}]", pytrace=False)


# 13.4 ----------------------------------------------------------------------------------------

HINT_FOR_BREAKAGE = {"a missing migration": 2, "a deploy-check warning": 2,
                     "an N+1": 2, "a failing test": 2}


def _postgres_url() -> str:
    """The course's PostgreSQL, as the grader's own connection reaches it."""
    from urllib.parse import quote

    settings = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.fail("13.4 runs the workflow's tests on PostgreSQL: grade it with the course's "
                    "PostgreSQL (python3 -m course check 13.4 starts it)", pytrace=False)
    user = quote(settings.get("USER") or "", safe="")
    password = quote(settings.get("PASSWORD") or "", safe="")
    return (f"postgres://{user}:{password}@{settings.get('HOST') or '127.0.0.1'}:"
            f"{settings.get('PORT') or 5432}/{settings['NAME']}")


def test_13_4_ci_workflow(target_dir, measured):
    import os

    from grading_env import graders_env

    from course import catalog
    from course.measuring import workflow
    from course.project import states

    path = target_dir / workflow.WORKFLOW
    if not path.is_file():
        pytest.fail(f"there is no {workflow.WORKFLOW} in starter_project/ [hint 2]",
                    pytrace=False)
    try:
        written = workflow.load(path)
        planned = workflow.steps(written)
    except workflow.WorkflowError as error:
        pytest.fail(str(error), pytrace=False)
    findings = workflow.lint(target_dir)
    if findings:
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        pytest.fail(f"actionlint: {findings[0]}{more} [hint 3]", pytrace=False)
    if not workflow.postgres_jobs(written):
        pytest.fail(
            "the workflow's tests run on SQLite: no job has a PostgreSQL service container "
            "with DATABASE_URL naming it in its steps' environment, and production runs "
            "PostgreSQL [hint 2]", pytrace=False)
    for step in planned:
        for named in re.findall(r"-r\s+(\S+)", step.run or "") if step.skipped else []:
            assert (target_dir / step.directory / named).is_file(), (
                f"step {step.name!r} installs from {named}, which is not in starter_project/"
            )
    courses = catalog.load()
    fixed = states.state_before(courses, courses.exercise("13.4"))
    redis = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    broker = graders_env().get("CELERY_BROKER_URL") or redis
    runs = workflow.run_against(fixed, path.read_text(), database_url=_postgres_url(),
                                redis_url=redis, broker_url=broker)
    on_fixed, on_broken = runs[0], runs[1:]
    ran = len(on_fixed.results)
    stopped = sum(1 for run in on_broken if not run.passed)
    linted = "actionlint found nothing" if findings is not None else \
        "no actionlint on this platform"
    measured(f"{linted}; {ran} steps run here ({len(on_fixed.skipped)} skipped), "
             f"{'passing' if on_fixed.passed else 'failing'} on the fixed shop in "
             f"{on_fixed.seconds:.0f} s; {stopped} of {len(workflow.BROKEN)} broken shops "
             f"stopped", target=f"{len(workflow.BROKEN)} of {len(workflow.BROKEN)}")
    if not on_fixed.results:
        pytest.fail("the workflow has no run: step the grader can run here: every step "
                    "uses an action or installs packages [hint 2]", pytrace=False)
    failed = on_fixed.stopped_at
    if failed is not None:
        last = failed.tail.splitlines()[-1] if failed.tail else "no output"
        pytest.fail(f"on the fixed shop (the shop after 13.3, nothing broken) the workflow "
                    f"stops at step {failed.step.name!r}: {last}", pytrace=False)
    missed = [run for run in on_broken if run.passed]
    if missed:
        first = missed[0].regression
        more = f" (and {len(missed) - 1} more)" if len(missed) > 1 else ""
        pytest.fail(f"the workflow passes on a shop where {first.says}: {first.kind} that "
                    f"reaches main{more} [hint {HINT_FOR_BREAKAGE.get(first.kind, 2)}]",
                    pytrace=False)
