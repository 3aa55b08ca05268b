"""Smoke tests of the shop: every page answers, orders send email, seeding is repeatable."""

from decimal import Decimal

from django.core import mail
from django.test import TestCase, override_settings
from django.urls import reverse

from shop.models import Customer, Order, OrderItem, Product
from shop.reports import sales_report
from shop.seed import seed_shop


class PagesTest(TestCase):
    @classmethod
    def setUpTestData(cls):
        seed_shop("tiny")

    def test_every_page_answers(self):
        product = Product.objects.order_by("pk").first()
        customer = Customer.objects.order_by("pk").first()
        urls = [
            reverse("shop:product_list"),
            reverse("shop:product_detail", args=[product.slug]),
            reverse("shop:order_list"),
            reverse("shop:customer_dashboard", args=[customer.pk]),
            reverse("shop:sales_report"),
            reverse("shop:sales_report_csv"),
            reverse("shop:sales_report_pdf"),
            reverse("api:product_list"),
            reverse("api:order_list"),
            reverse("admin:login"),
        ]
        for url in urls:
            with self.subTest(url=url):
                self.assertEqual(self.client.get(url).status_code, 200)

    def test_report_total_is_exact(self):
        report = sales_report()
        expected = sum(
            (item.unit_price * item.quantity for item in OrderItem.objects.filter(
                order__status__in=["paid", "shipped"], order__created_at__gte=report["since"])),
            Decimal("0.00"),
        )
        self.assertEqual(report["total"], expected)

    @override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    def test_placing_an_order_sends_one_email(self):
        customer = Customer.objects.order_by("pk").first()
        products = list(Product.objects.order_by("pk")[:2])
        response = self.client.post(reverse("shop:place_order"), {
            "customer_id": customer.pk,
            "product_ids": ",".join(str(p.pk) for p in products),
            "quantities": "1,2",
        })
        self.assertEqual(response.status_code, 302)
        self.assertEqual(len(mail.outbox), 1)
        order = Order.objects.latest("pk")
        self.assertEqual(order.total(), products[0].price + 2 * products[1].price)
        self.assertIn(f"#{order.pk}", mail.outbox[0].subject)

    def test_bad_order_is_refused(self):
        response = self.client.post(reverse("shop:place_order"), {"customer_id": "x"})
        self.assertEqual(response.status_code, 400)


class SeedTest(TestCase):
    def test_seeding_is_repeatable(self):
        first = seed_shop("tiny")
        first_total = Order.objects.order_by("pk").first().total()
        second = seed_shop("tiny")
        self.assertEqual(first, second)
        self.assertEqual(Order.objects.order_by("pk").first().total(), first_total)
        self.assertEqual(Customer.objects.count(), first["customers"])
