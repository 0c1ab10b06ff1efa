"""Forms of promotions: the coupon admin's form and staff issuing (发券)."""

import re
from decimal import Decimal

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from distributors.models import CustomerBinding, Distributor

from .models import Coupon

SEPARATORS = re.compile(r"[\s,，;；、]+")
MAX_CUSTOMERS = 1000  # per issue from a typed list; larger groups: by conditions


class CouponForm(forms.ModelForm):
    """A coupon template, with what the model checks (kind, amounts, dates) plus what
    needs the form: a percentage in range, a scope with what it covers, a quantity
    not below what was handed out."""

    class Meta:
        model = Coupon
        fields = (
            "name",
            "name_en",
            "kind",
            "amount",
            "threshold",
            "percent_off",
            "max_discount",
            "scope",
            "categories",
            "products",
            "validity",
            "valid_from",
            "valid_until",
            "valid_days",
            "total_quantity",
            "per_person_limit",
            "audience",
            "is_public",
            "is_active",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        model_field = Coupon._meta.get_field("percent_off")
        # Checked in clean_percent_off, with one message for every way out of range.
        self.fields["percent_off"] = forms.DecimalField(
            label=model_field.verbose_name.capitalize(),
            help_text=model_field.help_text,
            required=False,
            error_messages={"invalid": _("Enter a percentage such as 15 or 12.5.")},
        )

    def clean_percent_off(self):
        percent = self.cleaned_data.get("percent_off")
        if percent is None:
            return None
        if not Decimal("0") < percent < Decimal("100"):
            raise forms.ValidationError(
                _("The percentage off must be more than 0 and less than 100.")
            )
        if percent != percent.quantize(Decimal("0.01")):
            raise forms.ValidationError(_("Give the percentage with at most two decimals."))
        return percent

    def clean_total_quantity(self):
        quantity = self.cleaned_data.get("total_quantity")
        handed_out = self.instance.claimed_count if self.instance.pk else 0
        if quantity is not None and quantity < handed_out:
            raise forms.ValidationError(
                _("%(count)d have been handed out already; the quantity cannot be lower.")
                % {"count": handed_out}
            )
        return quantity

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        if scope == Coupon.Scope.CATEGORIES and not cleaned.get("categories"):
            self.add_error("categories", _("Choose the categories this coupon applies to."))
        if scope == Coupon.Scope.PRODUCTS and not cleaned.get("products"):
            self.add_error("products", _("Choose the products this coupon applies to."))
        return cleaned


class IssueCouponForm(forms.Form):
    """Whom to give a coupon to: customers by username or phone, or every customer
    meeting the conditions (marketing.coupons.issue / issue_to_matching)."""

    customers = forms.CharField(
        label=gettext_lazy("Customers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 40}),
        help_text=gettext_lazy(
            "Usernames or mobile phones, one per line or separated by commas. "
            "Leave empty to choose customers by the conditions below."
        ),
    )
    spent_at_least = forms.DecimalField(
        label=gettext_lazy("Spent at least (¥)"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text=gettext_lazy("On paid orders, less what was refunded."),
    )
    ordered_within_days = forms.IntegerField(
        label=gettext_lazy("Ordered within (days)"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=gettext_lazy("Placed a paid order in this many days up to now."),
    )
    bound_to = forms.ModelChoiceField(
        label=gettext_lazy("Bound to distributor"),
        queryset=Distributor.objects.select_related("user"),
        required=False,
        help_text=gettext_lazy("Customers bound to this distributor now (推广关系)."),
    )

    def __init__(self, *args, admin_site=None, **kwargs):
        super().__init__(*args, **kwargs)
        if admin_site is not None:
            field = self.fields["bound_to"]
            field.widget = AutocompleteSelect(
                CustomerBinding._meta.get_field("distributor"), admin_site
            )
            field.widget.choices = field.choices

    def clean_customers(self) -> list:
        """The users named, each once; unknown or ambiguous names refused together."""
        names = [name for name in SEPARATORS.split(self.cleaned_data["customers"]) if name]
        names = list(dict.fromkeys(names))
        if not names:
            return []
        if len(names) > MAX_CUSTOMERS:
            raise forms.ValidationError(
                _("Give at most %(count)d customers at a time, or use the conditions.")
                % {"count": MAX_CUSTOMERS}
            )
        users = get_user_model().objects.filter(is_active=True)
        by_name = {user.username: user for user in users.filter(username__in=names)}
        by_phone: dict[str, list] = {}
        for user in users.filter(phone__in=[n for n in names if n not in by_name]):
            by_phone.setdefault(user.phone, []).append(user)
        found, unknown, ambiguous = [], [], []
        for name in names:
            if name in by_name:
                found.append(by_name[name])
            elif len(by_phone.get(name, [])) == 1:
                found.append(by_phone[name][0])
            elif name in by_phone:
                ambiguous.append(name)
            else:
                unknown.append(name)
        errors = []
        if unknown:
            errors.append(
                _("No customer has this username or phone: %(names)s.")
                % {"names": ", ".join(unknown)}
            )
        if ambiguous:
            errors.append(
                _("More than one customer has this phone; give their usernames: %(phones)s.")
                % {"phones": ", ".join(ambiguous)}
            )
        if errors:
            raise forms.ValidationError(errors)
        return found

    @property
    def conditions(self) -> dict:
        """The conditions given (after is_valid())."""
        names = ("spent_at_least", "ordered_within_days", "bound_to")
        return {name: self.cleaned_data[name] for name in names if self.cleaned_data.get(name)}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if cleaned.get("customers") and self.conditions:
            raise forms.ValidationError(_("Give either the customers or the conditions, not both."))
        if not cleaned.get("customers") and not self.conditions:
            raise forms.ValidationError(
                _("Give the customers' usernames or phones, or at least one condition they meet.")
            )
        return cleaned
