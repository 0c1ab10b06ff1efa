from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.outbox import enqueue

from . import second_factor
from .models import Address, User, mainland_mobile

EMAIL_TAKEN = _(
    "This email address is already used by another account. Please sign in, or use another address."
)


def email_in_use(email: str, *, exclude_pk=None) -> bool:
    """Whether another account has ``email`` (trimmed, any case)."""
    users = get_user_model().objects.filter(email__iexact=email.strip())
    if exclude_pk is not None:
        users = users.exclude(pk=exclude_pk)
    return bool(email.strip()) and users.exists()


class UniqueEmailMixin:
    """An email address belongs to one account: two accounts with one address would
    share its password resets."""

    def clean_email(self):
        email = (self.cleaned_data.get("email") or "").strip()
        if email and email_in_use(email, exclude_pk=self.instance.pk):
            raise forms.ValidationError(EMAIL_TAKEN, code="email_taken")
        return email


class SignUpForm(UniqueEmailMixin, UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class ProfileForm(UniqueEmailMixin, forms.ModelForm):
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


class PasswordResetByWorkerForm(PasswordResetForm):
    """Django's reset form, but the mail is rendered and sent by the worker: the
    request does the same work for a known and an unknown address, so its timing
    does not tell which addresses have an account, and the link is built from
    settings.SITE_URL, never from the request's Host header."""

    def save(self, *, request=None, **kwargs):
        from .tasks import send_password_reset  # tasks render with this module's form

        language = translation.get_language()
        for user in self.get_users(self.cleaned_data["email"]):
            enqueue(send_password_reset, user.pk, language)


def _token_field():
    return forms.CharField(
        label=_("Authenticator code"),
        max_length=10,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
        help_text=_("The 6-digit code your authenticator app shows for this shop."),
    )


WRONG_CODE = _("The authenticator code is wrong or has expired. Please enter the current code.")


class OTPTokenForm(forms.Form):
    """A code of the user's authenticator: to verify a session, or to confirm enrolment."""

    otp_token = _token_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["otp_token"].required = True


class StaffAdminLoginForm(AdminAuthenticationForm):
    """The admin's sign-in, asking staff who move money for their authenticator code
    too (settings.STAFF_OTP_REQUIRED). Staff with no authenticator yet sign in with
    the password and are sent to enrol; everyone else signs in as before."""

    otp_token = _token_field()

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is None or not second_factor.is_required_for(user):
            return cleaned
        if not second_factor.has_device(user):
            return cleaned  # the middleware sends them to enrolment
        device = second_factor.verify(user, self.cleaned_data.get("otp_token", ""))
        if device is None:
            raise forms.ValidationError(WRONG_CODE, code="invalid_token")
        user.otp_device = device  # django_otp marks the session verified at login()
        return cleaned
