"""The one way an event reaches a person: ``notify``.

Called by the app the event happens in, inside its transaction:

    notify(order.user, Kind.ORDER_SHIPPED, key=f"order:{order.pk}:shipped",
           context={"order": order}, link=order.get_absolute_url(),
           data={"order": order.pk}, sms_params={"number": order.number})

writes the site message and one delivery per channel the person chose, and
sends the deliveries by Celery once the transaction commits (through the
outbox, so a broker outage delays them and loses nothing). A second call with
the same key for the same person does nothing, so a retried task or a repeated
notification from a gateway never tells anyone twice.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import translate_url
from django.utils import timezone, translation
from django.utils.translation import pgettext

from accounts.models import mainland_mobile
from core import outbox

from .events import event
from .models import Channel, Delivery, NotificationSettings, SiteMessage

logger = logging.getLogger(__name__)


def settings_of(user) -> NotificationSettings:
    """The person's settings; the defaults (unsaved) when they never changed them."""
    try:
        return user.notification_settings
    except NotificationSettings.DoesNotExist:
        return NotificationSettings(user=user)


def valid_phone(phone: str) -> bool:
    try:
        mainland_mobile(phone)
    except ValidationError:
        return False
    return True


def render_message(kind: str, context: dict, language: str) -> tuple[str, str]:
    """(title, text) of a site message: templates/notifications/<kind>.txt, whose
    first line is the title and the rest the text, in `language`."""
    with translation.override(language):
        rendered = render_to_string(f"notifications/{kind}.txt", context).strip()
    title, _newline, body = rendered.partition("\n")
    return " ".join(title.split())[:200], body.strip()


def in_shop_language(words: Callable[[], object]) -> str:
    """`words()` in the shop's language (settings.LANGUAGE_CODE), for an SMS parameter:
    the provider's templates, which the parameters fill, are written and approved in it."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(words())


def sms_outcome(approved: bool) -> str:
    """The word an SMS template takes for a decision: approved or declined (shop's language)."""
    return in_shop_language(
        lambda: pgettext("sms", "approved") if approved else pgettext("sms", "declined")
    )


def in_language(path: str, language: str) -> str:
    """A site path (in whatever language it was reversed) in `language`: its language
    prefix changed. Links are stored in the default language and read in the reader's."""
    written_in = translation.get_language_from_path(path) or settings.LANGUAGE_CODE
    with translation.override(written_in):
        return translate_url(path, language)


@transaction.atomic(savepoint=False)  # a failure here fails the caller's change anyway
def notify(
    recipient,
    kind: str,
    *,
    key: str,
    context: dict | None = None,
    link: str = "",
    data: dict | None = None,
    sms_params: dict | None = None,
    language: str | None = None,
) -> SiteMessage | None:
    """Tell `recipient` of an event: a site message, then email and SMS as they chose.

    `key` names the event ("order:42:shipped"); with the recipient it is unique,
    so calling again for the same event returns None and sends nothing. The
    texts are rendered now, in the recipient's language; `data` keeps the ids
    the email needs, `sms_params` the SMS template's parameters (strings).
    `language` is the one the event happened in (an order's): it is used for
    a person who never chose theirs in their settings.
    Deliveries are sent by ``notifications.tasks.deliver`` after the commit.
    """
    spec = event(kind)
    prefs = settings_of(recipient)
    chosen = not prefs._state.adding  # a saved row: the person chose
    language = (prefs.language if chosen else language or prefs.language) or settings.LANGUAGE_CODE
    title, body = render_message(kind, {"recipient": recipient, **(context or {})}, language)
    message, created = SiteMessage.objects.get_or_create(
        recipient=recipient,
        event_key=key,
        defaults={
            "kind": kind,
            "category": spec.category,
            "title": title,
            "body": body,
            "link": in_language(link, settings.LANGUAGE_CODE) if link else "",
            "data": {**(data or {}), "sms": sms_params or {}},
            "language": language,
        },
    )
    if not created:
        return None

    deliveries = []
    if recipient.email and prefs.wants(Channel.EMAIL, spec.category):
        deliveries.append(Delivery(message=message, channel=Channel.EMAIL, address=recipient.email))
    if (
        spec.sms
        and kind in settings.SMS_TEMPLATES
        and prefs.wants(Channel.SMS, spec.category)
        and valid_phone(recipient.phone)
    ):
        deliveries.append(Delivery(message=message, channel=Channel.SMS, address=recipient.phone))
    if deliveries:
        from .tasks import deliver

        for delivery in Delivery.objects.bulk_create(deliveries):
            outbox.enqueue(deliver, delivery.pk)
    return message


def mark_read(user, message_ids=None) -> int:
    """Mark the user's messages read (all of them without ids); returns how many.
    Other people's ids are ignored, never touched."""
    messages = SiteMessage.objects.filter(recipient=user, read_at__isnull=True)
    if message_ids is not None:
        messages = messages.filter(pk__in=message_ids)
    return messages.update(read_at=timezone.now())
