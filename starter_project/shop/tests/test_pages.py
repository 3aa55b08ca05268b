"""Smoke tests of the shop: every page answers, orders send email, seeding is repeatable."""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.core import mail
from django.test import Client, TestCase, override_settings
from django.urls import reverse

from shop.models import Category, Customer, Order, OrderItem, Product
from shop.reports import sales_report
from shop.seed import seed_shop


class PagesTest(TestCase):
    @classmethod
    def setUpTestData(cls):
        seed_shop("tiny")

    def setUp(self):
        # Tasks run in this process, at once: these tests check the shop, not the broker.
        eager = current_app.conf.task_always_eager
        current_app.conf.task_always_eager = True
        self.addCleanup(setattr, current_app.conf, "task_always_eager", eager)

    def test_every_page_answers(self):
        product = Product.objects.order_by("pk").first()
        customer = Customer.objects.order_by("pk").first()
        category = Category.objects.order_by("pk").first()
        urls = [
            reverse("shop:product_list"),
            reverse("shop:product_list") + f"?category={category.slug}",
            reverse("shop:product_detail", args=[product.slug]),
            reverse("shop:order_list"),
            reverse("shop:customer_dashboard", args=[customer.pk]),
            reverse("shop:sales_report"),
            reverse("shop:sales_report_csv"),
            reverse("shop:sales_report_pdf"),
            reverse("shop:order_lines_csv"),
            reverse("shop:order_lines_csv") + "?days=14",
            reverse("api:product_list"),
            reverse("api:order_list"),
            reverse("api:order_list") + f"?customer={customer.email}",
            reverse("admin:login"),
        ]
        for url in urls:
            with self.subTest(url=url):
                self.assertEqual(self.client.get(url).status_code, 200)

    def test_root_redirects_to_the_products(self):
        self.assertRedirects(self.client.get("/"), reverse("shop:product_list"))

    def test_report_total_is_exact(self):
        report = sales_report()
        items = OrderItem.objects.filter(
            order__status__in=["paid", "shipped"], order__created_at__gte=report["since"]
        )
        expected = sum((item.unit_price * item.quantity for item in items), Decimal("0.00"))
        self.assertEqual(report["total"], expected)
        self.assertEqual(sum(value for _, value in report["by_category"]), expected)
        self.assertEqual(sum(value for _, value in report["by_month"]), expected)

    def test_export_has_a_line_per_order_line(self):
        response = self.client.get(reverse("shop:order_lines_csv"))
        body = b"".join(response.streaming_content) if response.streaming else response.content
        lines = body.decode().splitlines()
        self.assertEqual(lines[0], "order,placed_at,status,customer,product,quantity,unit_price,"
                                   "line_total")
        self.assertEqual(len(lines) - 1, OrderItem.objects.count())
        self.assertEqual(self.client.get(reverse("shop:order_lines_csv") + "?days=x").status_code,
                         400)

    @override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    def test_placing_an_order_sends_one_email(self):
        customer = Customer.objects.order_by("pk").first()
        products = list(Product.objects.filter(is_active=True).order_by("pk")[:2])
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(reverse("shop:place_order"), {
                "customer_id": customer.pk,
                "product_ids": [p.pk for p in products],
                "quantities": [1, 2],
            })
        self.assertRedirects(response, reverse("shop:customer_dashboard", args=[customer.pk]))
        self.assertEqual(len(mail.outbox), 1)
        order = Order.objects.latest("pk")
        self.assertEqual(order.customer, customer)
        self.assertEqual(order.total(), products[0].price + 2 * products[1].price)
        self.assertIn(f"#{order.pk}", mail.outbox[0].subject)
        self.assertEqual(mail.outbox[0].to, [customer.email])

    @override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    def test_comma_separated_products_are_accepted(self):
        customer = Customer.objects.order_by("pk").first()
        products = list(Product.objects.filter(is_active=True).order_by("pk")[:2])
        response = self.client.post(reverse("shop:place_order"), {
            "customer_id": customer.pk,
            "product_ids": ",".join(str(p.pk) for p in products),
            "quantities": "3,1",
        })
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Order.objects.latest("pk").item_count(), 4)

    def test_dashboard_offers_to_order_again(self):
        customer = Order.objects.order_by("pk").first().customer
        response = self.client.get(reverse("shop:customer_dashboard", args=[customer.pk]))
        self.assertContains(response, reverse("shop:order_again", args=[customer.pk]))
        self.assertContains(response, "csrfmiddlewaretoken", count=1)
        for order in customer.orders.order_by("-created_at")[:10]:
            self.assertContains(response, f'name="order_id" value="{order.pk}"')

    @override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    def test_order_again_places_the_same_lines(self):
        earlier = Order.objects.filter(items__product__is_active=True).order_by("pk").first()
        earlier.items.exclude(product__is_active=True).delete()
        browser = Client(enforce_csrf_checks=True)
        dashboard = browser.get(reverse("shop:customer_dashboard", args=[earlier.customer_id]))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"',
                          dashboard.content.decode()).group(1)
        with self.captureOnCommitCallbacks(execute=True):
            response = browser.post(reverse("shop:order_again", args=[earlier.customer_id]),
                                    {"order_id": earlier.pk, "csrfmiddlewaretoken": token})
        self.assertRedirects(response, reverse("shop:customer_dashboard",
                                               args=[earlier.customer_id]))
        again = Order.objects.latest("pk")
        self.assertNotEqual(again.pk, earlier.pk)
        self.assertEqual(again.customer_id, earlier.customer_id)
        self.assertEqual(list(again.items.order_by("pk").values_list("product", "quantity")),
                         list(earlier.items.order_by("pk").values_list("product", "quantity")))
        self.assertEqual(len(mail.outbox), 1)

    def test_order_again_takes_only_the_customers_own_orders(self):
        order = Order.objects.order_by("pk").first()
        other = Customer.objects.exclude(pk=order.customer_id).order_by("pk").first()
        orders = Order.objects.count()
        with self.assertLogs("django.request", "WARNING"):
            self.assertEqual(self.client.post(reverse("shop:order_again", args=[other.pk]),
                                              {"order_id": order.pk}).status_code, 404)
            self.assertEqual(self.client.post(reverse("shop:order_again", args=[other.pk]),
                                              {"order_id": "x"}).status_code, 400)
        self.assertEqual(Order.objects.count(), orders)

    def test_bad_order_is_refused(self):
        orders = Order.objects.count()
        with self.assertLogs("django.request", "WARNING"):
            response = self.client.post(reverse("shop:place_order"), {"customer_id": "x"})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(Order.objects.count(), orders)


class CarrierStandIn(BaseHTTPRequestHandler):
    """The carrier's quote service, answering at once: a fixed price for any question."""

    def do_GET(self):
        body = json.dumps({"carrier": "Parcelo", "price": "4.90", "currency": "EUR", "days": 2,
                           "postcode": self.path.rsplit("postcode=", 1)[-1]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class ShippingQuoteTest(TestCase):
    @classmethod
    def setUpTestData(cls):
        seed_shop("tiny")

    def setUp(self):
        carrier = ThreadingHTTPServer(("127.0.0.1", 0), CarrierStandIn)
        threading.Thread(target=carrier.serve_forever, daemon=True).start()
        self.addCleanup(carrier.server_close)
        self.addCleanup(carrier.shutdown)
        address = f"http://127.0.0.1:{carrier.server_address[1]}"
        self.enterContext(override_settings(SHIPPING_QUOTES_URL=address))

    def test_the_product_page_offers_a_delivery_price(self):
        product = Product.objects.order_by("pk").first()
        page = self.client.get(reverse("shop:product_detail", args=[product.slug]))
        self.assertContains(page, reverse("shop:shipping_quote", args=[product.slug]))

    def test_the_carriers_price_is_shown(self):
        product = Product.objects.order_by("pk").first()
        url = reverse("shop:shipping_quote", args=[product.slug])
        page = self.client.get(url, {"postcode": "1011"})
        self.assertContains(page, "4.90 EUR")
        self.assertContains(page, "Parcelo")
        self.assertNotContains(self.client.get(url), "EUR</strong>")  # no postcode, no question


class SeedTest(TestCase):
    def test_seeding_is_repeatable(self):
        first = seed_shop("tiny")
        first_order = Order.objects.order_by("pk").first()
        second = seed_shop("tiny")
        second_order = Order.objects.order_by("pk").first()
        self.assertEqual(first, second)
        self.assertEqual(second_order.total(), first_order.total())
        self.assertEqual(second_order.created_at, first_order.created_at)
        self.assertEqual(Customer.objects.count(), first["customers"])
        self.assertEqual(OrderItem.objects.count(), first["order items"])

    def test_counts_override_the_scale(self):
        counts = seed_shop("tiny", customers=5, orders=12, reviews=0)
        self.assertEqual(counts["customers"], 5)
        self.assertEqual(Order.objects.count(), 12)
        self.assertEqual(counts["reviews"], 0)

    def test_the_command_forgets_what_was_cached_about_the_old_data(self):
        from io import StringIO

        from django.core.cache import cache
        from django.core.management import call_command

        cache.set("about-the-old-data", "stale")
        call_command("seed_shop", "--scale", "tiny", stdout=StringIO(), verbosity=0)
        self.assertIsNone(cache.get("about-the-old-data"))

    def test_the_command_asks_for_migrations_first(self):
        with tempfile.TemporaryDirectory() as folder:
            env = dict(os.environ, COURSE_SQLITE_PATH=str(Path(folder) / "empty.sqlite3"),
                       COURSE_DB="", DATABASE_URL="")
            done = subprocess.run([sys.executable, "manage.py", "seed_shop", "--scale", "tiny"],
                                  cwd=settings.BASE_DIR, env=env, capture_output=True,
                                  text=True, timeout=120)
        self.assertEqual(done.returncode, 1)
        self.assertIn("run `python manage.py migrate` first", done.stderr)
        self.assertNotIn("Traceback", done.stderr)

    def test_unknown_scale_is_refused(self):
        with self.assertRaises(ValueError):
            seed_shop("huge")
