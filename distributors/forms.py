from django import forms
from django.utils.translation import gettext_lazy as _


class JoinForm(forms.Form):
    invite_code = forms.CharField(
        label=_("Invite code"),
        max_length=16,
        required=False,
        help_text=_("The code of the distributor who invited you, if any."),
    )
