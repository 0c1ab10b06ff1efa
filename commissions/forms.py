from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import MAX_LEVELS, CommissionPlan, GradeRate, PayoutMethod, Withdrawal

AMOUNT_MESSAGE = _("Enter an amount in yuan greater than zero, such as 100.00.")


class WithdrawalForm(forms.Form):
    """What a distributor asks to withdraw, and where to.

    Only the shape of the input is checked here; the rules (minimum, balance,
    methods of the plan, an active distributor) are the service's, which the
    view turns into errors on this form.
    """

    amount = forms.DecimalField(
        label=_("Amount (yuan)"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages={
            "invalid": AMOUNT_MESSAGE,
            "min_value": AMOUNT_MESSAGE,
            "max_digits": _("That amount is too large."),
            "max_whole_digits": _("That amount is too large."),
            "max_decimal_places": _("Enter at most two decimal places (fen)."),
        },
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    request_token = forms.UUIDField(widget=forms.HiddenInput)
    method = forms.ChoiceField(
        label=_("Payout method"),
        error_messages={"invalid_choice": _("Choose one of the payout methods offered.")},
    )
    account_name = forms.CharField(
        label=_("Account holder's name"),
        max_length=Withdrawal._meta.get_field("account_name").max_length,
        help_text=_("The real name on the account, as the payment provider knows it."),
    )
    account_number = forms.CharField(
        label=_("Account number"),
        max_length=Withdrawal._meta.get_field("account_number").max_length,
        help_text=_("Alipay account (phone or email), WeChat ID, or bank card number."),
    )

    def __init__(self, *args, methods: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [(m, PayoutMethod(m).label) for m in methods]
        if len(methods) == 1:
            self.fields["method"].initial = methods[0]


class PercentField(forms.DecimalField):
    """A rate typed as a percentage (10 means 10%, 2.5 means 2.5%), cleaned to the
    fraction the model stores (0.1000): merchants think in percent, the commission
    math in fractions, and only this field converts between them."""

    default_error_messages = {
        "invalid": _("Enter a percentage as a number, such as 10 or 2.5."),
        "out_of_range": _("Enter a percentage from 0 to %(max)s."),
        "max_decimal_places": _("Enter at most two decimal places, such as 2.55."),
    }

    def __init__(self, *, max_percent: int = 100, **kwargs):
        self.max_percent = Decimal(max_percent)
        kwargs.setdefault("widget", forms.NumberInput(attrs={"class": "percent-input"}))
        super().__init__(max_digits=None, decimal_places=2, **kwargs)

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "min": "0", "max": str(self.max_percent)}

    def prepare_value(self, value):
        if isinstance(value, Decimal):  # a stored fraction; typed text stays as typed
            return f"{(value * 100).normalize():f}"
        return value

    def validate(self, value):
        super().validate(value)
        if value is not None and not Decimal(0) <= value <= self.max_percent:
            raise forms.ValidationError(
                self.error_messages["out_of_range"],
                code="out_of_range",
                params={"max": f"{self.max_percent.normalize():f}"},
            )

    def clean(self, value):
        percent = super().clean(value)
        return None if percent is None else (percent / 100).quantize(Decimal("0.0001"))

    def has_changed(self, initial, data):
        try:
            return self.clean(data) != (None if initial in (None, "") else Decimal(initial))
        except forms.ValidationError:
            return True


def _default(name: str):
    """A plan field's model default, the initial value of its field on a new plan."""
    return CommissionPlan._meta.get_field(name).default


class CommissionPlanForm(forms.ModelForm):
    """The plan in the admin: rates as percentages, payout methods as checkboxes."""

    level_1_rate = PercentField(label=_("Level 1 rate (%)"), initial=_default("level_1_rate"))
    level_2_rate = PercentField(label=_("Level 2 rate (%)"), initial=_default("level_2_rate"))
    level_3_rate = PercentField(
        label=_("Level 3 rate (%)"),
        initial=_default("level_3_rate"),
        help_text=_("Paid only when the plan pays 3 levels."),
    )
    payout_cap = PercentField(
        label=_("Payout cap (%)"),
        initial=_default("payout_cap"),
        help_text=_("The most all levels together may earn, as a percentage of the base."),
    )
    withdrawal_fee_rate = PercentField(
        label=_("Withdrawal fee (%)"),
        max_percent=20,
        initial=_default("withdrawal_fee_rate"),
        help_text=_("A percentage of each withdrawal kept as a fee, such as 0.6."),
    )
    levels = forms.IntegerField(
        label=_("Levels"),
        min_value=1,
        max_value=MAX_LEVELS,
        initial=_default("levels"),
        help_text=_(
            "How many levels of the referral chain earn: 2 by default, at most 3 "
            "(more is pyramid selling under China's rules)."
        ),
        error_messages={
            "min_value": _("A plan pays at least 1 level."),
            "max_value": _("A plan may pay at most 3 levels."),
        },
    )
    payout_methods = forms.MultipleChoiceField(
        label=_("Payout methods"),
        choices=PayoutMethod.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=_default("payout_methods"),
        help_text=_("Where distributors may withdraw to."),
        error_messages={"required": _("Choose at least one payout method.")},
    )

    class Meta:
        model = CommissionPlan
        fields = [
            "name",
            "name_en",
            "levels",
            "level_1_rate",
            "level_2_rate",
            "level_3_rate",
            "payout_cap",
            "allows_self_purchase",
            "self_purchase_rule",
            "compresses",
            "freeze_days",
            "min_withdrawal",
            "withdrawal_fee_rate",
            "payout_methods",
        ]

    def clean_payout_methods(self):
        chosen = self.cleaned_data["payout_methods"]
        return [method for method in PayoutMethod.values if method in chosen]


class GradeRateForm(forms.ModelForm):
    """A grade's rate at one level, typed as a percentage like the plan's own rates."""

    rate = PercentField(label=_("Rate (%)"))

    class Meta:
        model = GradeRate
        fields = ["grade", "level", "rate"]
