"""Writes of a person's notification settings (通知设置): channels, phone, language."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import mainland_mobile
from core.errors import ServiceError

from .models import Category, Channel, NotificationSettings


class SettingsError(ServiceError):
    pass


class InvalidPhone(SettingsError):
    field = "phone"

    def __init__(self, message=None):
        super().__init__(message or mainland_mobile.message)


class UnknownLanguage(SettingsError):
    field = "language"

    def __init__(self):
        super().__init__(_("Choose one of the languages offered."))


CHANNEL_FIELDS = tuple(
    f"{channel}_{category}" for category in Category.values for channel in Channel.values
)


def _check_language(language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise UnknownLanguage


@transaction.atomic
def save_settings(user, *, channels: dict[str, bool], phone: str, language: str):
    """Save the person's channels per category (``{"email_orders": True, ...}``), their
    mobile phone and the language of their messages; returns their settings.

    Refuses a phone that is not a mainland mobile number (InvalidPhone) or an
    unknown language before writing anything. The settings row is made on the
    first save; fields not in ``channels`` keep their value.
    """
    phone = (phone or "").strip()
    if phone:
        try:
            mainland_mobile(phone)
        except ValidationError as exc:
            raise InvalidPhone(exc.messages[0]) from None
    _check_language(language)
    unknown = set(channels) - set(CHANNEL_FIELDS)
    if unknown:
        raise ValueError(f"not a channel setting: {sorted(unknown)}")
    if phone != user.phone:
        get_user_model().objects.filter(pk=user.pk).update(phone=phone)
        user.phone = phone
    fields = {name: bool(on) for name, on in channels.items()}
    prefs, _created = NotificationSettings.objects.update_or_create(
        user=user, defaults={**fields, "language": language}
    )
    return prefs


def remember_language(user, language: str) -> bool:
    """Keep ``language`` as the one the person's messages are written in; True when it
    changed. One read, and a write only when it differs (called at every sign-in)."""
    if language not in dict(settings.LANGUAGES):
        return False
    saved = (
        NotificationSettings.objects.filter(user=user).values_list("language", flat=True).first()
    )
    default = NotificationSettings._meta.get_field("language").default
    if saved == language or (saved is None and language == default):
        return False
    if saved is None:
        NotificationSettings.objects.get_or_create(user=user, defaults={"language": language})
    else:
        NotificationSettings.objects.filter(user=user).update(language=language)
    return True
