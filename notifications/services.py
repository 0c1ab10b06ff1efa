"""The one way an event reaches a person: ``notify``.

Called by the app the event happens in, inside its transaction:

    notify(order.user, Kind.ORDER_SHIPPED, key=f"order:{order.pk}:shipped",
           context={"order": order}, link=order.get_absolute_url(),
           data={"order": order.pk}, sms_params={"number": order.number})

writes the site message and one delivery per channel the person chose, and
sends the deliveries by Celery once the transaction commits (through the
outbox, so a broker outage delays them and loses nothing). A second call with
the same key for the same person does nothing, so a retried task or a repeated
notification from a gateway never tells anyone twice. ``notify_many`` does the
same for a batch of events (commission accrual tells hundreds of earners at
once) in a fixed number of queries; ``notify`` is a batch of one.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects
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


@dataclass(frozen=True)
class Notice:
    """One event to tell one person: the arguments of ``notify``, for ``notify_many``.

    `template` names the message's template (templates/notifications/<template>.txt)
    when it is not the kind's own, as for a digest of several events of one kind.
    """

    recipient: Any
    kind: str
    key: str
    context: dict = field(default_factory=dict)
    link: str = ""
    data: dict = field(default_factory=dict)
    sms_params: dict = field(default_factory=dict)
    language: str | None = None
    template: str | None = None


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
    Deliveries are sent by ``notifications.tasks`` after the commit.
    """
    notice = Notice(
        recipient,
        kind,
        key,
        context=context or {},
        link=link,
        data=data or {},
        sms_params=sms_params or {},
        language=language,
    )
    created = notify_many([notice])
    return created[0] if created else None


@transaction.atomic(savepoint=False)  # a failure here fails the caller's change anyway
def notify_many(notices: list[Notice]) -> list[SiteMessage]:
    """``notify`` for many events at once, in the same few queries whatever their number.

    The same guarantees, notice by notice: one site message per (recipient,
    key), so a key the person already has (or that comes twice in `notices`)
    is skipped and sends nothing; texts rendered once per new message, in the
    recipient's language; one delivery per channel they chose; all sent after
    the commit through the outbox. Queries: the keys already there, the
    recipients' settings not loaded yet (one), the messages (one insert in a
    savepoint), their deliveries (one), and one outbox row for all of them
    (``deliver`` for a single delivery, ``deliver_many`` for more). Two
    callers racing on one key: the loser's insert fails in its savepoint, and
    its messages are then written one by one, each skipped if it exists.
    Returns the messages made, in the order of `notices`.
    """
    fresh: dict[tuple[int, str], Notice] = {}
    for notice in notices:
        fresh.setdefault((notice.recipient.pk, notice.key), notice)
    if not fresh:
        return []
    existing = set(
        SiteMessage.objects.filter(
            recipient_id__in={pk for pk, _key in fresh}, event_key__in={key for _pk, key in fresh}
        ).values_list("recipient_id", "event_key")
    )
    todo = [notice for pair, notice in fresh.items() if pair not in existing]
    if not todo:
        return []
    prefetch_related_objects([notice.recipient for notice in todo], "notification_settings")
    messages = [_message(notice) for notice in todo]
    try:
        with transaction.atomic():
            SiteMessage.objects.bulk_create(messages)
    except IntegrityError:  # a concurrent caller wrote one of the keys meanwhile
        messages = [message for message in map(_get_or_create, messages) if message is not None]
    by_pair = {(notice.recipient.pk, notice.key): notice for notice in todo}
    deliveries = [
        delivery
        for message in messages
        for delivery in _deliveries(message, by_pair[(message.recipient_id, message.event_key)])
    ]
    if deliveries:
        from .tasks import deliver, deliver_many

        pks = [delivery.pk for delivery in Delivery.objects.bulk_create(deliveries)]
        if len(pks) == 1:
            outbox.enqueue(deliver, pks[0])
        else:
            outbox.enqueue(deliver_many, pks)
    return messages


def _message(notice: Notice) -> SiteMessage:
    """The unsaved site message of `notice`, rendered in the recipient's language."""
    spec = event(notice.kind)
    prefs = settings_of(notice.recipient)
    chosen = not prefs._state.adding  # a saved row: the person chose
    language = (
        prefs.language if chosen else notice.language or prefs.language
    ) or settings.LANGUAGE_CODE
    title, body = render_message(
        notice.template or notice.kind,
        {"recipient": notice.recipient, **notice.context},
        language,
    )
    return SiteMessage(
        recipient=notice.recipient,
        event_key=notice.key,
        kind=notice.kind,
        category=spec.category,
        title=title,
        body=body,
        link=in_language(notice.link, settings.LANGUAGE_CODE) if notice.link else "",
        data={**notice.data, "sms": notice.sms_params},
        language=language,
    )


def _get_or_create(message: SiteMessage) -> SiteMessage | None:
    """`message` saved unless its recipient has its key already (then None)."""
    fields = ("kind", "category", "title", "body", "link", "data", "language")
    saved, created = SiteMessage.objects.get_or_create(
        recipient=message.recipient,
        event_key=message.event_key,
        defaults={name: getattr(message, name) for name in fields},
    )
    return saved if created else None


def _deliveries(message: SiteMessage, notice: Notice) -> list[Delivery]:
    """One unsaved delivery per further channel the recipient chose for this kind."""
    recipient, spec = notice.recipient, event(notice.kind)
    prefs = settings_of(recipient)
    deliveries = []
    if recipient.email and prefs.wants(Channel.EMAIL, spec.category):
        deliveries.append(Delivery(message=message, channel=Channel.EMAIL, address=recipient.email))
    if (
        spec.sms
        and notice.kind in settings.SMS_TEMPLATES
        and prefs.wants(Channel.SMS, spec.category)
        and valid_phone(recipient.phone)
    ):
        deliveries.append(Delivery(message=message, channel=Channel.SMS, address=recipient.phone))
    return deliveries


def mark_read(user, message_ids=None) -> int:
    """Mark the user's messages read (all of them without ids); returns how many.
    Other people's ids are ignored, never touched."""
    messages = SiteMessage.objects.filter(recipient=user, read_at__isnull=True)
    if message_ids is not None:
        messages = messages.filter(pk__in=message_ids)
    return messages.update(read_at=timezone.now())
