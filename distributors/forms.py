import re

from django import forms
from django.utils.translation import gettext_lazy as _

# A mainland China mobile number: 11 digits starting 13-19, with or without +86.
MOBILE_RE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


class ApplicationForm(forms.Form):
    """Apply to become a distributor (分销商申请)."""

    name = forms.CharField(label=_("Your name"), max_length=50)
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        help_text=_("11 digits, e.g. 13800138000."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    reason = forms.CharField(
        label=_("Why do you want to join?"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    invite_code = forms.CharField(
        label=_("Invite code"),
        max_length=16,
        required=False,
        help_text=_("The code of the distributor who invited you, if any."),
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter your name."))
        return name

    def clean_phone(self):
        digits = re.sub(r"[\s-]", "", self.cleaned_data["phone"])
        match = MOBILE_RE.match(digits)
        if match is None:
            raise forms.ValidationError(_("Enter an 11-digit mainland China mobile number."))
        return match.group(1)

    def clean_invite_code(self):
        return self.cleaned_data["invite_code"].strip().upper()
