from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from .models import Address, User, mainland_mobile


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class ProfileForm(forms.ModelForm):
    """Name, email and mobile phone of the signed-in user."""

    class Meta:
        model = User
        fields = ("first_name", "email", "phone")
        labels = {"first_name": _("Name")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.fields["phone"].validators.append(mainland_mobile)
        self.fields["phone"].widget.attrs.update(inputmode="tel", autocomplete="tel")


class AddressForm(forms.ModelForm):
    """One address of the book; also the "new address" part of the checkout form."""

    make_default = forms.BooleanField(label=_("Use as my default address"), required=False)

    class Meta:
        model = Address
        fields = ("recipient_name", "phone", "province", "city", "district", "detail")
        widgets = {
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
            "province": forms.TextInput(attrs={"placeholder": _("e.g. Shanghai")}),
            "city": forms.TextInput(attrs={"placeholder": _("e.g. Shanghai")}),
            "district": forms.TextInput(attrs={"placeholder": _("e.g. Pudong New Area")}),
        }
