"""The sign-in limit: failures from one address refuse its next tries, and no other's."""

from django.contrib.auth.models import User
from django.test import Client, TestCase, override_settings


@override_settings(SIGN_IN_FAILURES_ALLOWED=2, SIGN_IN_LOCKOUT_SECONDS=60)
class SignInLimitTest(TestCase):
    @classmethod
    def setUpTestData(cls):
        User.objects.create_superuser("keeper", "keeper@shop.example", "right-password")

    def sign_in(self, address, password):
        return Client(REMOTE_ADDR=address).post(
            "/admin/login/", {"username": "keeper", "password": password, "next": "/admin/"})

    def test_failures_refuse_that_address_only(self):
        guesser, other = "192.0.2.10", "192.0.2.11"
        for _ in range(2):
            self.assertEqual(self.sign_in(guesser, "guess").status_code, 200)  # the form again
        refused = self.sign_in(guesser, "right-password")
        self.assertEqual(refused.status_code, 429)
        self.assertTrue(0 < int(refused["Retry-After"]) <= 60)
        self.assertEqual(self.sign_in(other, "right-password").status_code, 302)
