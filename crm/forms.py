"""The customer record's admin forms: tags, notes, saved segments, issuing a coupon."""

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketing.models import Coupon
from marketing.templatetags.coupon_tags import condition, face_value

from .models import CustomerNote, SavedSegment, Segment, SegmentSettings, Tag


class CustomerTagsForm(forms.Form):
    """The tags a customer holds, all of them at once."""

    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"),
        queryset=Tag.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Note"),
        max_length=CustomerNote._meta.get_field("body").max_length,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept as written and signed with your name; notes cannot be edited."),
    )


class TagChoiceForm(forms.Form):
    """The tag an "add tag" / "remove tag" action puts on or takes off the selection."""

    tag = forms.ModelChoiceField(label=_("Tag"), queryset=Tag.objects.all())


class TagForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ("name", "name_en", "color")
        widgets = {"color": forms.TextInput(attrs={"type": "color"})}


class SegmentSettingsForm(forms.ModelForm):
    """The thresholds, each with what it decides (crm.segments.segment_of)."""

    class Meta:
        model = SegmentSettings
        fields = (
            "new_days",
            "at_risk_days",
            "dormant_days",
            "high_value_spent",
            "high_value_orders",
        )
        help_texts = {
            "new_days": _(
                "A customer whose first paid order is younger than this is New (unless "
                "they are already High value)."
            ),
            "at_risk_days": _(
                "A customer whose last paid order is this many days old or older is At risk."
            ),
            "dormant_days": _(
                "A customer whose last paid order is this many days old or older is Dormant. "
                "Must be more than the days for At risk."
            ),
            "high_value_spent": _(
                "High value: paid at least this much, less what was refunded (¥), and "
                "at least the number of orders below. Dormant and At risk come first."
            ),
            "high_value_orders": _("High value: at least this many paid orders."),
        }

    def clean(self):
        data = super().clean()
        at_risk, dormant = data.get("at_risk_days"), data.get("dormant_days")
        if at_risk is not None and dormant is not None and dormant <= at_risk:
            self.add_error(
                "dormant_days",
                _("Dormant must take more days than At risk (%(days)d).") % {"days": at_risk},
            )
        return data


class SavedSegmentForm(forms.ModelForm):
    """A saved customer filter; every condition given must hold."""

    segments = forms.MultipleChoiceField(
        label=_("Segments"),
        choices=Segment.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Customers in any of these segments (none ticked: any segment)."),
    )

    class Meta:
        model = SavedSegment
        fields = (
            "name",
            "segments",
            "tags",
            "min_spent",
            "min_orders",
            "ordered_within_days",
            "bound_to",
        )
        widgets = {"tags": forms.CheckboxSelectMultiple}
        help_texts = {
            "tags": _("Customers holding any of these tags (none ticked: no condition)."),
            "min_spent": _("Paid less refunded, in yuan."),
            "ordered_within_days": _("Their last paid order is at most this many days old."),
            "bound_to": _("Customers bound to this distributor now (推广关系)."),
        }


class CouponChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, coupon):
        return f"{coupon.display_name} ({face_value(coupon)}, {condition(coupon)})"


class IssueToSegmentForm(forms.Form):
    """Which coupon to give every customer of the saved segment(s)."""

    coupon = CouponChoiceField(label=_("Coupon"), queryset=Coupon.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        now = timezone.now()
        self.fields["coupon"].queryset = (
            Coupon.objects.filter(is_active=True)
            .filter(Q(validity=Coupon.Validity.AFTER_CLAIM) | Q(valid_until__gt=now))
            .order_by("name")
        )
