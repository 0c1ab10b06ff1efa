from django import forms
from django.utils.translation import gettext_lazy as _

from .models import AfterSaleRequest


class AfterSaleForm(forms.Form):
    """The shopper's refund request: what, why, and for some items how many of each."""

    kind = forms.ChoiceField(
        label=_("What to refund"),
        choices=AfterSaleRequest.Kind.choices,
        widget=forms.RadioSelect,
        initial=AfterSaleRequest.Kind.WHOLE_ORDER,
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=AfterSaleRequest.Reason.choices)
    reason_text = forms.CharField(
        label=_("Details"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, refundable=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.refundable = list(refundable)
        for item in self.refundable:
            self.fields[self.quantity_field(item.line.pk)] = forms.IntegerField(
                label=f"{item.line.product_name} {item.line.variant_name}",
                min_value=0,
                max_value=item.left,
                initial=0,
                required=False,
                error_messages={
                    "invalid": _("Enter a whole number."),
                    "min_value": _("The quantity cannot be negative."),
                    "max_value": _("You can ask for a refund of at most %(limit_value)s."),
                },
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )

    @staticmethod
    def quantity_field(line_pk: int) -> str:
        return f"qty_{line_pk}"

    def quantity_fields(self):
        return [(item, self[self.quantity_field(item.line.pk)]) for item in self.refundable]

    def quantities(self) -> dict[int, int]:
        return {
            item.line.pk: self.cleaned_data.get(self.quantity_field(item.line.pk)) or 0
            for item in self.refundable
        }
