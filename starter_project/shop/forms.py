"""The checkout form: what a customer posts to place an order."""

from django import forms


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


class OrderAgainForm(forms.Form):
    order_id = forms.IntegerField(min_value=1)


# TODO(12.5): the staff's password-reset form is Django's own (config/urls.py), which builds
# its mail's link from the address the request came to.
