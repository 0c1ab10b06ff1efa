"""The forms of the customer-service back office: a reply, an assignment, the settings."""

from django import forms
from django.contrib.admin import widgets as admin_widgets
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..forms import ACCEPT, MultiplePictureField, MultiplePictureInput
from ..models import MAX_BODY, ServiceSettings
from ..services import MAX_PICTURES


class ReplyForm(forms.Form):
    """A staff reply: text, pictures, or both. Lengths, counts and picture types are
    checked by support.services (its refusals land on these fields)."""

    body = forms.CharField(
        label=_("Reply"),
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "maxlength": MAX_BODY,
                "placeholder": _("Write a reply…"),
                "id": "support-reply-body",
            }
        ),
    )
    pictures = MultiplePictureField(
        label=_("Pictures"),
        required=False,
        help_text=_("Up to %(max)s pictures: JPEG, PNG, WebP or GIF.") % {"max": MAX_PICTURES},
        widget=MultiplePictureInput(
            attrs={
                "accept": ACCEPT,
                "data-max": MAX_PICTURES,
                "id": "support-reply-pictures",
            }
        ),
    )


class AssignForm(forms.Form):
    """Who answers the conversation; nobody puts it back among the unassigned."""

    assignee = forms.ModelChoiceField(
        label=_("Assign to"),
        queryset=None,
        required=False,
        empty_label=_("Nobody (unassigned)"),
    )

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff
        self.fields["assignee"].label_from_instance = staff_name


def staff_name(user) -> str:
    name = user.get_full_name()
    return f"{name} ({user.get_username()})" if name else user.get_username()


WEEKDAYS = [
    ("1", pgettext_lazy("short weekday", "Mon")),
    ("2", pgettext_lazy("short weekday", "Tue")),
    ("3", pgettext_lazy("short weekday", "Wed")),
    ("4", pgettext_lazy("short weekday", "Thu")),
    ("5", pgettext_lazy("short weekday", "Fri")),
    ("6", pgettext_lazy("short weekday", "Sat")),
    ("7", pgettext_lazy("short weekday", "Sun")),
]


class ServiceSettingsForm(forms.ModelForm):
    """The opening hours with the days as seven checkboxes (stored as "1234567")."""

    open_days = forms.MultipleChoiceField(
        label=_("Days open"),
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "support-weekdays"}),
        help_text=_("No day ticked: every message gets the automatic answer."),
    )

    class Meta:
        model = ServiceSettings
        fields = ("open_days", "opens_at", "closes_at", "away_message", "away_message_en")
        widgets = {
            "opens_at": admin_widgets.AdminTimeWidget(format="%H:%M"),
            "closes_at": admin_widgets.AdminTimeWidget(format="%H:%M"),
            "away_message": forms.Textarea(attrs={"rows": 4, "class": "vLargeTextField"}),
            "away_message_en": forms.Textarea(attrs={"rows": 4, "class": "vLargeTextField"}),
        }
        help_texts = {
            "opens_at": _("In the shop's time zone."),
            "closes_at": _(
                "The same time as the opening: round the clock. Earlier than the "
                "opening: open over midnight."
            ),
            "away_message": _(
                "Sent once to a shopper who writes outside the opening hours, until staff answer."
            ),
            "away_message_en": _("For shoppers who read the shop in English."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["open_days"] = list(self.instance.open_days)

    def clean_open_days(self) -> str:
        return "".join(sorted(set(self.cleaned_data["open_days"])))
