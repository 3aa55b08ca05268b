"""Work the shop hands to the Celery worker (`celery -A config worker`).

Task arguments travel through the broker as JSON: send ids, not model
instances, and read fresh rows in the task.
"""

import logging
import smtplib

from celery import shared_task

from .emails import send_order_confirmation
from .models import Order
from .report_files import write_report

logger = logging.getLogger(__name__)


@shared_task
def count_orders(status=None):
    """How many orders there are (of one status): a first task that proves the worker reaches
    the shop's database."""
    orders = Order.objects.all()
    if status:
        orders = orders.filter(status=status)
    return orders.count()


@shared_task(
    # A refusal (4xx/5xx reply) or a mail server that cannot be reached: try again later.
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,  # wait about 1 s, 2 s, 4 s … (with jitter) between attempts
    retry_backoff_max=600,
    max_retries=8,  # then give up: the task fails and says so, rather than retry forever
    # Acknowledge the message only when the task has finished: if the worker dies mid-task,
    # the broker hands the message out again (after the visibility timeout).
    acks_late=True,
)
def send_order_confirmation_task(order_id):
    """Email an order's confirmation. Safe to run twice: the email's Message-ID is derived
    from the order, so a repeat is recognisably the same message."""
    order = Order.objects.select_related("customer").filter(pk=order_id).first()
    if order is None:
        logger.warning("order %s does not exist (rolled back?): no confirmation", order_id)
        return None
    send_order_confirmation(order)
    return order_id


@shared_task(bind=True, acks_late=True)
def generate_sales_report(self, fmt):
    """Write the sales report of job ``self.request.id``; progress goes to the result store."""
    def progress(percent):
        self.update_state(state="PROGRESS", meta={"progress": percent})

    path = write_report(self.request.id, fmt, progress=progress)
    return {"file": path.name}
