"""Reads of the message centre (站内信) and of the header's unread counts."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from .events import EVENTS
from .models import Category, SiteMessage

# The message centre's tabs (全部 / 未读 / one per category), in their order: the
# query parameter's value and its label.
MESSAGE_TABS = {
    "all": _("All"),
    "unread": _("Unread"),
    **{category.value: category.label for category in Category},
}


def message_tab(value) -> str:
    """The tab asked for; anything unknown is "all"."""
    return value if value in MESSAGE_TABS else "all"


def messages_of(user, tab: str = "all") -> QuerySet[SiteMessage]:
    """The user's site messages in ``tab``, newest first (one query per page)."""
    messages = SiteMessage.objects.filter(recipient=user).order_by("-created_at", "-pk")
    tab = message_tab(tab)
    if tab == "unread":
        messages = messages.filter(read_at__isnull=True)
    elif tab != "all":
        messages = messages.filter(category=tab)
    return messages.only("pk", "kind", "category", "title", "body", "link", "created_at", "read_at")


def message_of(user, pk) -> SiteMessage:
    """The user's message ``pk``; raises SiteMessage.DoesNotExist for anyone else's."""
    return SiteMessage.objects.get(recipient=user, pk=pk)


@dataclass(frozen=True)
class UnreadCounts:
    """What the header's badges show: unread site messages, unread customer-service replies."""

    messages: int = 0
    support: int = 0

    @property
    def total(self) -> int:
        return self.messages + self.support

    def as_dict(self) -> dict[str, int]:
        return {"messages": self.messages, "support": self.support}


def _count(queryset, group_by: str, total) -> Coalesce:
    rows = queryset.order_by().values(group_by).annotate(n=total).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def unread_counts(user) -> UnreadCounts:
    """Both of the header's counts in one query (two subqueries on the user's row).

    The support count is the sum of the customer's unread counters of their
    conversations (support keeps ``customer_unread`` on each conversation), so
    neither count reads the messages themselves beyond the unread index.
    """
    from support.models import Conversation

    counts = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .values(
            messages=_count(
                SiteMessage.objects.filter(recipient=OuterRef("pk"), read_at__isnull=True),
                "recipient",
                Count("pk"),
            ),
            support=_count(
                Conversation.objects.filter(customer=OuterRef("pk")),
                "customer",
                Sum("customer_unread"),
            ),
        )
        .first()
    )
    return UnreadCounts(**counts) if counts else UnreadCounts()


def sms_categories() -> list[str]:
    """The categories a person may choose SMS for: those with an event that may go by
    SMS and has a provider template (settings.SMS_TEMPLATES)."""
    return [
        category
        for category in Category.values
        if any(
            spec.sms and spec.category == category and spec.kind in settings.SMS_TEMPLATES
            for spec in EVENTS.values()
        )
    ]
