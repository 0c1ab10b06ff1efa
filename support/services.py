"""Every write of customer service: open a conversation, post, read, assign, close, rate.

A post updates the conversation's counters in the same transaction (under the
conversation's row lock), so the inbox, the header badges and the polls read
one row instead of counting messages. Pictures are checked and re-encoded by
``support.pictures`` before anything is stored: a refused picture stores
nothing, not even the text beside it.
"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import outbox
from core.errors import ServiceError
from core.models import localized
from notifications.models import Kind
from notifications.services import notify

from . import pictures, selectors
from .models import MAX_BODY, Attachment, Conversation, Message, ServiceSettings

# How long a staff reply may stay unseen before the shopper is told by email
# (seconds; the outbox's countdown limit).
UNSEEN_REPLY_DELAY = 60
MAX_PICTURES = 4


class SupportError(ServiceError):
    pass


class EmptyMessage(SupportError):
    field = "body"

    def __str__(self):
        return str(_("Write a message or attach a picture."))


class MessageTooLong(SupportError):
    field = "body"

    def __str__(self):
        return str(
            _("A message can be at most %(max)s characters; split it in two.") % {"max": MAX_BODY}
        )


class ConversationClosed(SupportError):
    def __str__(self):
        return str(_("This conversation is closed."))


class NotRatable(SupportError):
    field = "rating"

    def __str__(self):
        return str(_("A conversation can be rated once, after it is closed."))


class NotYours(SupportError):
    """The order or after-sale request named is not the shopper's."""

    def __str__(self):
        return str(_("That order is not one of yours."))


def locked(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_for_update().get(pk=conversation.pk)


def is_open_now(at: datetime | None = None, service: ServiceSettings | None = None) -> bool:
    """Whether customer service is in its opening hours at `at` (the shop's time)."""
    service = service or ServiceSettings.get_solo()
    local = timezone.localtime(at or timezone.now())
    if str(local.isoweekday()) not in service.open_days:
        return False
    now = local.time()
    if service.opens_at == service.closes_at:
        return True  # round the clock
    if service.opens_at < service.closes_at:
        return service.opens_at <= now < service.closes_at
    return now >= service.opens_at or now < service.closes_at  # open over midnight


def _checked(body: str, files) -> tuple[str, list[pictures.PreparedPicture]]:
    """The message's text (stripped) and its pictures re-encoded, before anything is
    locked or stored; EmptyMessage, MessageTooLong or PictureRefused otherwise."""
    body = (body or "").strip()
    if len(body) > MAX_BODY:
        raise MessageTooLong()
    prepared = pictures.prepare(files, limit=MAX_PICTURES)
    if not body and not prepared:
        raise EmptyMessage()
    return body, prepared


def start_conversation(customer, *, body: str, files=(), order=None, after_sale=None):
    """Open a conversation with its first message; returns the conversation.

    An order or after-sale request must be the customer's (NotYours otherwise).
    An open conversation about the same order or request is reused, so a second
    "ask about this order" continues it instead of starting another; the customer's
    row is locked first, so two starts at once (a double click) make one conversation.
    """
    if after_sale is not None:
        order = after_sale.order
    if order is not None and order.user_id != customer.pk:
        raise NotYours()
    if after_sale is not None:
        topic = Conversation.Topic.AFTER_SALE
    elif order is not None:
        topic = Conversation.Topic.ORDER
    else:
        topic = Conversation.Topic.GENERAL
    body, prepared = _checked(body, files)
    with transaction.atomic():
        # FOR NO KEY UPDATE: it still lets the messages' and orders' foreign keys to
        # the customer be checked meanwhile (a plain FOR UPDATE would wait for them,
        # and a post into the reused conversation could then deadlock with this start).
        customers = get_user_model().objects.select_for_update(no_key=True)
        list(customers.filter(pk=customer.pk).values("pk"))
        conversation = (
            selectors.open_conversations_about(customer, order, after_sale)
            .select_for_update()
            .first()
        )
        if conversation is None:
            conversation = Conversation.objects.create(
                customer=customer, topic=topic, order=order, after_sale=after_sale
            )
        _post(conversation, Message.Sender.CUSTOMER, customer, body, prepared)
        return conversation


def post_message(conversation: Conversation, author, *, body: str, files=(), as_staff: bool):
    """Add a message from the customer (as_staff False) or from staff; returns it.

    A customer writing into a closed conversation reopens it; staff must reopen
    it first. Raises EmptyMessage, MessageTooLong or a picture's refusal
    (pictures.PictureRefused), storing nothing. The pictures are re-encoded before
    the conversation's row is locked, so its polls do not wait for Pillow.
    """
    body, prepared = _checked(body, files)
    with transaction.atomic():
        conversation = locked(conversation)
        if not conversation.is_open:
            if as_staff:
                raise ConversationClosed()
            _reopen(conversation)
        sender = Message.Sender.STAFF if as_staff else Message.Sender.CUSTOMER
        return _post(conversation, sender, author, body, prepared)


def _post(conversation: Conversation, sender: str, author, body: str, prepared) -> Message:
    now = timezone.now()
    message = Message.objects.create(
        conversation=conversation, sender=sender, author=author, body=body
    )
    Attachment.objects.bulk_create(
        Attachment(message=message, **picture.fields(message)) for picture in prepared
    )
    update = {"last_message_at": now}
    if sender == Message.Sender.CUSTOMER:
        update["staff_unread"] = F("staff_unread") + 1
        if conversation.waiting_since is None:
            update["waiting_since"] = now
    else:
        update["customer_unread"] = F("customer_unread") + 1
        update["waiting_since"] = None
        if conversation.first_reply_at is None:
            update["first_reply_at"] = now
        if conversation.assignee_id is None:
            update["assignee"] = author
    Conversation.objects.filter(pk=conversation.pk).update(**update)
    conversation.refresh_from_db()

    if sender == Message.Sender.CUSTOMER:
        _answer_outside_hours(conversation, now)
    else:
        from .tasks import notify_unseen_reply

        outbox.enqueue(notify_unseen_reply, message.pk, countdown=UNSEEN_REPLY_DELAY)
    return message


def _answer_outside_hours(conversation: Conversation, now: datetime) -> None:
    """The automatic answer, once per wait, when a shopper writes outside opening hours."""
    service = ServiceSettings.get_solo()
    if is_open_now(now, service):
        return
    waiting = conversation.waiting_since
    if conversation.auto_replied_at and waiting and conversation.auto_replied_at >= waiting:
        return
    text = localized(service.away_message, service.away_message_en)
    Message.objects.create(conversation=conversation, sender=Message.Sender.SYSTEM, body=text)
    Conversation.objects.filter(pk=conversation.pk).update(
        auto_replied_at=now, customer_unread=F("customer_unread") + 1, last_message_at=now
    )
    conversation.refresh_from_db()


def mark_read(conversation: Conversation, *, by_staff: bool) -> None:
    """The reader's side has seen everything: one UPDATE, which writes only when
    something was unread (the pages poll every few seconds). The shopper's reading is
    also stamped, so the replies they saw are not emailed (notify_unseen_reply)."""
    if by_staff:
        Conversation.objects.filter(pk=conversation.pk, staff_unread__gt=0).update(staff_unread=0)
        conversation.staff_unread = 0
    else:
        now = timezone.now()
        Conversation.objects.filter(pk=conversation.pk, customer_unread__gt=0).update(
            customer_unread=0, customer_seen_at=now
        )
        conversation.customer_unread = 0


@transaction.atomic
def assign(conversation: Conversation, staff_member) -> Conversation:
    """Give the conversation to `staff_member` (None: back to unassigned)."""
    conversation = locked(conversation)
    conversation.assignee = staff_member
    conversation.save(update_fields=["assignee"])
    return conversation


@transaction.atomic
def close(conversation: Conversation) -> Conversation:
    """Close it (idempotent); the shopper is then asked to rate it."""
    conversation = locked(conversation)
    if conversation.is_open:
        conversation.status = Conversation.Status.CLOSED
        conversation.closed_at = timezone.now()
        conversation.waiting_since = None
        conversation.save(update_fields=["status", "closed_at", "waiting_since"])
    return conversation


def _reopen(conversation: Conversation) -> None:
    conversation.status = Conversation.Status.OPEN
    conversation.closed_at = None
    conversation.save(update_fields=["status", "closed_at"])


@transaction.atomic
def reopen(conversation: Conversation) -> Conversation:
    """Open a closed conversation again (idempotent); a rating given stays."""
    conversation = locked(conversation)
    if not conversation.is_open:
        _reopen(conversation)
    return conversation


@transaction.atomic
def rate(conversation: Conversation, *, rating: int, comment: str = "") -> Conversation:
    """The shopper's satisfaction (1-5) with a closed conversation, once."""
    conversation = locked(conversation)
    if conversation.is_open or conversation.rating is not None:
        raise NotRatable()
    if rating not in range(1, 6):
        raise NotRatable()
    conversation.rating = rating
    conversation.rating_comment = (comment or "").strip()[:500]
    conversation.rated_at = timezone.now()
    conversation.save(update_fields=["rating", "rating_comment", "rated_at"])
    return conversation


def notify_unseen_reply(message_id: int) -> bool:
    """Tell the shopper of a staff reply they did not see on the page within the delay.

    Only the last reply of a burst tells (a later staff message has its own
    turn), and not when the shopper read the conversation since. Returns
    whether they were notified. Idempotent: the notification's key is the reply.
    """
    message = Message.objects.select_related("conversation__customer").filter(pk=message_id).first()
    if message is None:
        return False
    conversation = message.conversation
    seen = conversation.customer_seen_at and conversation.customer_seen_at >= message.created_at
    if seen or conversation.customer_unread == 0:
        return False
    if conversation.messages.filter(pk__gt=message.pk, sender=Message.Sender.STAFF).exists():
        return False
    return (
        notify(
            conversation.customer,
            Kind.STAFF_REPLY,
            key=f"support:{conversation.pk}:reply:{message.pk}",
            context={"conversation": conversation, "reply": message},
            link=conversation.get_absolute_url(),
            data={"conversation": conversation.pk, "message": message.pk},
            sms_params={"conversation": str(conversation.pk)},
        )
        is not None
    )
