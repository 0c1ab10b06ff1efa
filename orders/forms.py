from django import forms
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _

from accounts.forms import AddressForm
from catalog.models import Variant

from .cart import MAX_QUANTITY
from .tracking import carriers


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
        if allow_zero:  # updating: 0 removes the line, below 0 is still refused
            field = self.fields["quantity"]
            field.min_value = 0
            field.validators = [v for v in field.validators if v.code != "min_value"]
            field.validators.append(MinValueValidator(0))
            field.error_messages = {
                **field.error_messages,
                "min_value": _("The quantity cannot be negative."),
            }
            field.widget.attrs["min"] = 0

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


NEW_ADDRESS = "new"


class CheckoutForm(forms.Form):
    """Where to ship (a saved address of the user's, or a new one), a note, and the
    coupon chosen on the page (marketing.pricing).

    The new address's own fields are an ``AddressForm`` (prefix "new"), checked
    only when "new" is chosen; ``address_form`` is that form.
    """

    address = forms.ChoiceField(
        label=_("Ship to"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose where to ship the order."),
            "invalid_choice": _("That address is not in your address book. Choose another."),
        },
    )
    note = forms.CharField(label=_("Note to the seller"), max_length=200, required=False)
    checkout_token = forms.UUIDField(widget=forms.HiddenInput)
    # The coupon of the totals shown: one of the shopper's claim ids, or "" for none.
    # place_order prices it again and refuses one that is not theirs or not usable.
    coupon = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, addresses, **kwargs):
        super().__init__(*args, **kwargs)
        self.addresses = {str(address.pk): address for address in addresses}
        field = self.fields["address"]
        field.choices = [
            (pk, f"{address.recipient_name} {address.phone} · {address.one_line}")
            for pk, address in self.addresses.items()
        ] + [(NEW_ADDRESS, _("A new address"))]
        default = next((pk for pk, a in self.addresses.items() if a.is_default), NEW_ADDRESS)
        field.initial = default
        self.address_form = AddressForm(
            self.data if self.is_bound else None, prefix=NEW_ADDRESS, use_required_attribute=False
        )

    def clean_coupon(self) -> str:
        coupon = self.cleaned_data["coupon"].strip()
        if coupon and not (coupon.isdigit() and len(coupon) <= 18):
            raise forms.ValidationError(_("Choose one of your coupons, or none."))
        return coupon

    @property
    def wants_new_address(self) -> bool:
        chosen = self.data.get("address") if self.is_bound else self.fields["address"].initial
        return chosen == NEW_ADDRESS

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if self.wants_new_address:
            return self.address_form.is_valid() and valid
        return valid

    def chosen_address(self):
        """The saved Address chosen, or the unsaved one typed in (after is_valid())."""
        if self.cleaned_data["address"] == NEW_ADDRESS:
            return self.address_form.instance
        return self.addresses[self.cleaned_data["address"]]

    def new_address_is_default(self) -> bool:
        """A typed-in address asked to become the default one (after is_valid())."""
        return self.wants_new_address and self.address_form.cleaned_data["make_default"]


class CarrierField(forms.ChoiceField):
    """A select of the carriers offered here; a posted name or short form (顺丰速运, SF)
    counts as its code, as ship_order takes it."""

    def to_python(self, value):
        value = super().to_python(value)
        return carriers.normalise(value) or value


class ShipForm(forms.Form):
    # Callable: the sandbox carrier is offered on a demo site only (read per form).
    carrier = CarrierField(label=_("Carrier"), choices=carriers.choices)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=64)
