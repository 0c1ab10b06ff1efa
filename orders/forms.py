from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from catalog.models import Variant

from .cart import MAX_QUANTITY


class CartLineForm(forms.Form):
    """Add a variant to the cart, or set its quantity (0 removes it when updating)."""

    variant = forms.IntegerField(widget=forms.HiddenInput)
    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        max_value=MAX_QUANTITY,
        error_messages={
            "invalid": _("Enter a whole number."),
            "min_value": _("The quantity must be at least %(limit_value)s."),
            "max_value": _("You can buy at most %(limit_value)s at a time."),
        },
    )

    def __init__(self, *args, allow_zero: bool = False, in_cart: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_cart = in_cart
        if allow_zero:
            self.fields["quantity"].min_value = 0
            self.fields["quantity"].validators = [
                v for v in self.fields["quantity"].validators if v.code != "min_value"
            ]

    def clean_variant(self):
        variant = (
            Variant.objects.select_related("product")
            .filter(pk=self.cleaned_data["variant"], is_active=True, product__is_active=True)
            .first()
        )
        if variant is None:
            raise forms.ValidationError(_("This product is not available."))
        return variant

    def clean(self):
        cleaned = super().clean()
        variant, quantity = cleaned.get("variant"), cleaned.get("quantity")
        if variant is not None and quantity is not None:
            wanted = quantity + self.in_cart
            if wanted > variant.stock:
                if variant.stock == 0:
                    raise forms.ValidationError(_("Sorry, this item is out of stock."))
                raise forms.ValidationError(
                    _("Only %(count)d left in stock.") % {"count": variant.stock}
                )
        return cleaned


phone_validator = RegexValidator(
    r"^\+?[0-9][0-9 -]{5,18}$", _("Enter a valid phone number, e.g. 13800138000.")
)


class CheckoutForm(forms.Form):
    recipient_name = forms.CharField(label=_("Recipient"), max_length=50)
    recipient_phone = forms.CharField(label=_("Phone"), max_length=20, validators=[phone_validator])
    address = forms.CharField(
        label=_("Shipping address"),
        max_length=255,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(label=_("Note to the seller"), max_length=200, required=False)
    checkout_token = forms.UUIDField(widget=forms.HiddenInput)


class ShipForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=50)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64)
