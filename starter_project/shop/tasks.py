"""Work the shop hands to the Celery worker (`celery -A config worker`).

Task arguments travel through the broker as JSON: send ids, not model
instances, and read fresh rows in the task.
"""

from celery import shared_task

from .models import Order


@shared_task
def count_orders(status=None):
    """How many orders there are (of one status): a first task that proves the worker reaches
    the shop's database."""
    orders = Order.objects.all()
    if status:
        orders = orders.filter(status=status)
    return orders.count()


# TODO(06.2): a task that sends the order confirmation (shop.emails.send_order_confirmation)
# for an order id.
# TODO(06.3): a task that writes a sales report file (shop.report_files.write_report) and
# reports its progress while it works.
# TODO(06.4): the mail server refuses mail now and then: retry the confirmation with a growing
# delay, a bounded number of times.
# TODO(06.5): a worker can die in the middle of a task: make sure the task runs again, and
# that running it twice sends the customer one confirmation, not two.
