from urllib.parse import urlsplit

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from core.task_policy import RETRY_POLICY


@shared_task(
    name="accounts.tasks.send_password_reset",
    **{**RETRY_POLICY, "autoretry_for": (*RETRY_POLICY["autoretry_for"], OSError)},
)
def send_password_reset(user_id: int, language: str = "") -> bool:
    """Mail ``user_id`` a link to choose a new password, pointing at settings.SITE_URL.

    The token is made here, when the mail goes out, so its validity counts from
    then. A redelivered task may mail twice, with two good links: harmless, and
    better than none. False when the account can no longer reset (gone, inactive,
    no usable password, no email) since the request was made.
    """
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email or not user.has_usable_password():
        return False
    site = urlsplit(settings.SITE_URL)
    with translation.override(language or settings.LANGUAGE_CODE):
        context = {
            "email": user.email,
            "domain": site.netloc,
            "site_name": site.netloc,
            "uid": urlsafe_base64_encode(force_bytes(user.pk)),
            "user": user,
            "token": default_token_generator.make_token(user),
            "protocol": site.scheme or "https",
        }
        PasswordResetForm().send_mail(
            "accounts/email/password_reset_subject.txt",
            "accounts/email/password_reset.txt",
            context,
            None,
            user.email,
        )
    return True
