"""Reads of customer service for the storefront: a shopper's conversations, one thread,
the messages after one a page already shows, and who may see a picture.

Every read of a shopper's conversation goes through ``conversation_of`` (or
``attachment_for``), which filters by the shopper: another shopper's id is
simply not found, so each URL answers 404 without saying the object exists.
"""

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Left
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from orders.models import AfterSaleRequest, Order

from .models import Attachment, Conversation, Message

EXCERPT = 60  # characters of the last message shown in the list

# The stored picture's format -> the Content-Type it is served with.
CONTENT_TYPES = {"webp": "image/webp", "jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}

# Staff read conversations (and their pictures) with either; the admin's
# has_view_or_change_permission asks the same.
READ_PERMISSIONS = ("support.view_conversation", "support.change_conversation")


def with_last_message(conversations: QuerySet[Conversation], *, chars: int) -> QuerySet:
    """`conversations` each with `last_body` (the first chars + 1 characters of its last
    message, so a template can tell it was cut; empty for pictures only) and
    `last_sender`: two subqueries in the same query, for the shop's list and the inbox."""
    last = Message.objects.filter(conversation=OuterRef("pk")).order_by("-pk")
    return conversations.annotate(
        last_body=Subquery(last.annotate(excerpt=Left("body", chars + 1)).values("excerpt")[:1]),
        last_sender=Subquery(last.values("sender")[:1]),
    )


def conversations_of(customer) -> QuerySet[Conversation]:
    """The shopper's conversations, newest first, each with `last_body` (the start of
    its last message; empty for pictures only), in one query with their orders."""
    mine = Conversation.objects.filter(customer=customer).select_related("order")
    return with_last_message(mine, chars=EXCERPT).order_by("-last_message_at", "-pk")


def conversation_of(customer, pk) -> Conversation:
    """The shopper's conversation `pk` with its order and after-sale request;
    Conversation.DoesNotExist when it is not theirs."""
    return Conversation.objects.select_related("order", "after_sale").get(pk=pk, customer=customer)


def open_conversations_about(customer, order=None, after_sale=None) -> QuerySet[Conversation]:
    """The shopper's open conversations about this subject (an order, an after-sale
    request, or neither), newest first: a new message about it continues the first."""
    return Conversation.objects.filter(
        customer=customer,
        status=Conversation.Status.OPEN,
        order=order if after_sale is None else after_sale.order,
        after_sale=after_sale,
    ).order_by("-pk")


def open_conversation_about(customer, order=None, after_sale=None) -> Conversation | None:
    """The conversation a new message about this subject would continue
    (``services.start_conversation`` reuses it)."""
    return open_conversations_about(customer, order, after_sale).first()


def may_rate(conversation: Conversation) -> bool:
    """Whether the shopper is asked for a rating: closed and not rated yet."""
    return not conversation.is_open and conversation.rating is None


def state_key(conversation: Conversation) -> str:
    """What the page's closing panel depends on (open, closed to rate, rated)."""
    if conversation.is_open:
        return "open"
    return "rated" if conversation.rating is not None else "to-rate"


def opening_days_label(open_days: str) -> str:
    """The days customer service is open, for people: every day, or Mon, Wed, ..."""
    days = sorted({int(day) for day in open_days if day in "1234567"})
    if len(days) == 7:
        return _("every day")
    # Translators: between the names of the days open; in Chinese 、
    return _(", ").join(str(WEEKDAYS_ABBR[day - 1]) for day in days)


def messages_of(conversation: Conversation, *, after: int | None = None) -> list[Message]:
    """The thread (or only the messages after id `after`), oldest first, with their
    authors and pictures: two queries however many messages."""
    messages = conversation.messages.select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
    )
    if after is not None:
        messages = messages.filter(pk__gt=after)
    return list(messages.order_by("pk"))


def order_of(customer, number: str) -> Order:
    """The shopper's order by its number; Order.DoesNotExist for anyone else's."""
    return Order.objects.get(number=number, user=customer)


def after_sale_of(customer, pk) -> AfterSaleRequest:
    """The shopper's after-sale request; AfterSaleRequest.DoesNotExist for anyone else's."""
    return AfterSaleRequest.objects.select_related("order").get(pk=pk, order__user=customer)


def attachment_for(user, pk) -> Attachment:
    """A picture for its conversation's shopper or staff allowed to read conversations;
    Attachment.DoesNotExist for anyone else (the same answer as for no such picture)."""
    attachment = Attachment.objects.select_related("message__conversation").get(pk=pk)
    if attachment.message.conversation.customer_id == user.pk or may_read_any(user):
        return attachment
    raise Attachment.DoesNotExist


def may_read_any(user) -> bool:
    """Whether `user` is staff allowed to read every conversation."""
    return user.is_staff and any(user.has_perm(permission) for permission in READ_PERMISSIONS)


def content_type_of(attachment: Attachment) -> str:
    return CONTENT_TYPES.get(attachment.extension, "application/octet-stream")
