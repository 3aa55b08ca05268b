"""Emails the shop sends."""

from django.core.mail import send_mail
from django.template.loader import render_to_string


def send_order_confirmation(order):
    """Email the customer what they ordered and what it costs."""
    # TODO(06.5): if the task runs twice, the customer gets two different emails. Make a repeat
    # of one order's confirmation recognisably the same message.
    # TODO(02.9): the template shows each line's product name: a query per line.
    items = list(order.items.all())
    body = render_to_string("emails/order_confirmation.txt", {"order": order, "items": items})
    send_mail(
        subject=f"Your Under Load Shop order #{order.pk}",
        message=body,
        from_email=None,
        recipient_list=[order.customer.email],
    )
