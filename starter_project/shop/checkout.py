"""Checkout: the form a customer posts to place an order, and the view that takes it."""

from django import forms
from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from .emails import send_order_confirmation
from .models import Customer, Order, OrderItem, Product


class IntegerListField(forms.Field):
    """Whole numbers sent as repeated fields (`id=1&id=2`) or comma-separated (`id=1,2`)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        numbers = []
        for chunk in value:
            for part in str(chunk).split(","):
                if not part.strip():
                    continue
                try:
                    numbers.append(int(part))
                except ValueError:
                    raise forms.ValidationError("Enter whole numbers.", code="invalid")
        return numbers


class PlaceOrderForm(forms.Form):
    customer_id = forms.IntegerField(min_value=1)
    product_ids = IntegerListField()
    quantities = IntegerListField()

    def clean(self):
        data = super().clean()
        ids = data.get("product_ids") or []
        quantities = data.get("quantities") or []
        if not ids or len(ids) != len(quantities):
            raise forms.ValidationError("Give one quantity for each product.")
        if any(quantity < 1 or quantity > 99 for quantity in quantities):
            raise forms.ValidationError("Quantities go from 1 to 99.")
        data["lines"] = list(zip(ids, quantities))
        return data


@require_POST
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

    # TODO(06.2): the customer waits while the mail server answers (seconds when it is slow),
    # and the email goes out even if the order is rolled back later. Hand it to the worker,
    # once the order is committed.
    send_order_confirmation(order)
    messages.success(request, f"Thank you! Order #{order.pk} is on its way to the warehouse.")
    return redirect("shop:customer_dashboard", pk=customer.pk)
