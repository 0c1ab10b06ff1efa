"""Sign-in security apps (django-axes, django-otp's TOTP) under names staff read in the
admin's app list, instead of their labels ("AXES", "OTP_TOTP")."""

from axes import apps as axes_apps
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp import apps as totp_apps

# django-axes' model names have no Chinese of its own: these msgids are its, so the
# project's catalogue translates them (makemessages finds them here).
AXES_MODEL_NAMES = (
    _("access attempt"),
    _("access attempts"),
    _("access failure"),
    _("access failures"),
    _("access log"),
    _("access logs"),
)


class SignInLockoutConfig(axes_apps.AppConfig):
    default = False
    verbose_name = _("Sign-in lockout")


class AuthenticatorConfig(totp_apps.DefaultConfig):
    default = False
    verbose_name = _("Staff authenticators")
