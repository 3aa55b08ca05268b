"""Checkout: the view that takes the order form (shop/forms.py) and places the order."""

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from .forms import PlaceOrderForm
from .models import Customer, Order, OrderItem, Product
from .tasks import send_order_confirmation_task


@require_POST
@transaction.atomic  # an order with a bad line is not half saved
def place_order(request):
    """Create an order from the posted form, email the confirmation, show the customer."""
    form = PlaceOrderForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(f"Invalid order: {form.errors.as_text()}")
    customer = get_object_or_404(Customer, pk=form.cleaned_data["customer_id"])

    order = Order(customer=customer, status=Order.Status.PENDING, created_at=timezone.now())
    order.save()
    for product_id, quantity in form.cleaned_data["lines"]:
        product = get_object_or_404(Product, pk=product_id, is_active=True)
        item = OrderItem(order=order, product=product, quantity=quantity, unit_price=product.price)
        item.save()

    # The worker sends the email, and only once the order is committed: a rolled-back order
    # queues nothing, and the worker never looks for an order it cannot see yet.
    transaction.on_commit(lambda: send_order_confirmation_task.delay(order.pk))
    messages.success(request, f"Thank you! Order #{order.pk} is on its way to the warehouse.")
    return redirect("shop:customer_dashboard", pk=customer.pk)
