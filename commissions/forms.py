from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import PayoutMethod, Withdrawal

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
