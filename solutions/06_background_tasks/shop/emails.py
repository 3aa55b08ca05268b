"""Emails the shop sends."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string


def order_confirmation_message_id(order):
    """One Message-ID per order's confirmation: sending it again sends the same message, which
    mailboxes show once (an idempotency key for the mail provider)."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].rstrip(">")
    return f"<order-{order.pk}-confirmation@{domain}>"


def send_order_confirmation(order):
    """Email the customer what they ordered and what it costs."""
    items = list(order.items.all())
    body = render_to_string("emails/order_confirmation.txt", {"order": order, "items": items})
    EmailMessage(
        subject=f"Your Under Load Shop order #{order.pk}",
        body=body,
        to=[order.customer.email],
        headers={"Message-ID": order_confirmation_message_id(order)},
    ).send()
