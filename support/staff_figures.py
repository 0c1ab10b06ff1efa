"""Reads of customer service for the back office: the inbox's counts, who may answer,
and the staff figures (客服统计) over a period.

Each is a fixed number of queries whatever the number of staff, conversations or
messages: counts are aggregates over the conversations' own counters and times;
only the first-reply times of a period are read as rows (two datetimes each), for
their median.

What counts, per staff member, for a period of shop days (core.days):
- conversations handled: the conversations they wrote in during the period;
- replies: their messages in the period;
- first-reply time: from the start of a conversation to its first staff answer, for
  the conversations first answered in the period, credited to whoever answered;
- ratings: the conversations rated in the period, credited to their assignee.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.days import DayRange

from .models import Conversation, Message

# A shopper waiting longer than this is shown in red and counted as "waiting too long".
WAITING_TOO_LONG = timedelta(minutes=10)

ANSWER_PERMISSION = ("support", "change_conversation")


def support_staff() -> QuerySet:
    """Active staff who may answer conversations (support.change_conversation, given
    to them or to a group of theirs, or superusers), by username: one query."""
    app_label, codename = ANSWER_PERMISSION
    granted = Q(
        user_permissions__content_type__app_label=app_label,
        user_permissions__codename=codename,
    ) | Q(
        groups__permissions__content_type__app_label=app_label,
        groups__permissions__codename=codename,
    )
    answering = get_user_model().objects.filter(Q(is_superuser=True) | granted)
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, pk__in=answering.values("pk"))
        .order_by("username")
    )


# --- the inbox -------------------------------------------------------------------


@dataclass(frozen=True)
class InboxCounts:
    """The inbox's boxes and its "now" line (one query)."""

    open: int
    closed: int
    mine: int  # assigned to the reader, open or not
    unassigned: int  # open and nobody's
    waiting: int  # open, the shopper waiting for an answer
    waiting_too_long: int  # waiting longer than WAITING_TOO_LONG
    unread: int  # the shoppers' messages staff have not opened yet


def inbox_counts(user=None, *, now: datetime | None = None) -> InboxCounts:
    """How many conversations each box of the inbox holds, now: one query."""
    now = now or timezone.now()
    open_ = Q(status=Conversation.Status.OPEN)
    waiting = open_ & Q(waiting_since__isnull=False)
    counts = Conversation.objects.aggregate(
        open=Count("pk", filter=open_),
        closed=Count("pk", filter=Q(status=Conversation.Status.CLOSED)),
        mine=Count("pk", filter=Q(assignee=user.pk) if user is not None else Q(pk__isnull=True)),
        unassigned=Count("pk", filter=open_ & Q(assignee__isnull=True)),
        waiting=Count("pk", filter=waiting),
        waiting_too_long=Count("pk", filter=waiting & Q(waiting_since__lt=now - WAITING_TOO_LONG)),
        unread=Coalesce(Sum("staff_unread", filter=open_), 0),
    )
    return InboxCounts(**counts)


def inbox_rows(ids, *, now: datetime | None = None) -> dict[int, dict]:
    """The unread count and waiting time of the conversations `ids` (a page of the
    inbox), by id: one query whatever their number."""
    rows = Conversation.objects.filter(pk__in=list(ids)[:200]).values_list(
        "pk", "status", "staff_unread", "waiting_since"
    )
    return {
        pk: {
            "unread": unread,
            "waiting_since": since if status == Conversation.Status.OPEN else None,
        }
        for pk, status, unread, since in rows
    }


# --- the staff figures -------------------------------------------------------------


class Period:
    """The periods the figures page offers: today, the last 7 or 30 shop days."""

    TODAY, WEEK, MONTH = "today", "7d", "30d"
    DAYS = {TODAY: 1, WEEK: 7, MONTH: 30}
    DEFAULT = WEEK

    @classmethod
    def days(cls, period: str, *, today=None) -> DayRange:
        return DayRange.last_days(cls.DAYS.get(period, cls.DAYS[cls.DEFAULT]), today=today)


@dataclass
class StaffFigures:
    """One staff member's figures for the period (staff None: the totals line)."""

    staff: object | None
    conversations: int = 0
    replies: int = 0
    first_replies: list[timedelta] = field(default_factory=list)
    rated: int = 0
    rating_sum: int = 0

    @property
    def median_first_reply(self) -> timedelta | None:
        return median(self.first_replies) if self.first_replies else None

    @property
    def average_first_reply(self) -> timedelta | None:
        if not self.first_replies:
            return None
        return sum(self.first_replies, timedelta()) / len(self.first_replies)

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_sum / self.rated, 1) if self.rated else None


@dataclass
class Figures:
    days: DayRange
    rows: list[StaffFigures]
    totals: StaffFigures
    started: int  # conversations started in the period
    now: InboxCounts


def staff_figures(days: DayRange, *, now: datetime | None = None) -> Figures:
    """Each staff member's figures over `days` (those who may answer, and anyone else
    who answered in the period), the totals, and the inbox now. Seven queries,
    whatever the number of staff, conversations or messages."""
    now = now or timezone.now()
    since, until = days.since, days.until
    in_period = {"created_at__gte": since, "created_at__lt": until}
    staff_messages = Message.objects.filter(sender=Message.Sender.STAFF, **in_period)
    rows: dict[int, StaffFigures] = {}

    def row(pk) -> StaffFigures:
        return rows.setdefault(pk, StaffFigures(staff=None))

    for written in (
        staff_messages.filter(author__isnull=False)
        .values("author")
        .annotate(replies=Count("pk"), conversations=Count("conversation", distinct=True))
        .order_by()
    ):
        figures = row(written["author"])
        figures.replies, figures.conversations = written["replies"], written["conversations"]

    totals = StaffFigures(staff=None)
    overall = staff_messages.aggregate(
        replies=Count("pk"), conversations=Count("conversation", distinct=True)
    )
    totals.replies, totals.conversations = overall["replies"], overall["conversations"]

    first_author = (
        Message.objects.filter(conversation=OuterRef("pk"), sender=Message.Sender.STAFF)
        .order_by("pk")
        .values("author")[:1]
    )
    first_replies = (
        Conversation.objects.filter(first_reply_at__gte=since, first_reply_at__lt=until)
        .annotate(first_author=Subquery(first_author))
        .values_list("first_author", "created_at", "first_reply_at")
    )
    for author, started_at, replied_at in first_replies:
        waited = max(replied_at - started_at, timedelta())
        totals.first_replies.append(waited)
        if author is not None:
            row(author).first_replies.append(waited)

    for rated in (
        Conversation.objects.filter(rated_at__gte=since, rated_at__lt=until)
        .values("assignee")
        .annotate(rated=Count("pk"), rating_sum=Sum("rating"))
        .order_by()
    ):
        totals.rated += rated["rated"]
        totals.rating_sum += rated["rating_sum"] or 0
        if rated["assignee"] is not None:
            figures = row(rated["assignee"])
            figures.rated, figures.rating_sum = rated["rated"], rated["rating_sum"] or 0

    people = get_user_model().objects.filter(
        Q(pk__in=support_staff().values("pk")) | Q(pk__in=list(rows))
    )
    for person in people.order_by("username"):
        row(person.pk).staff = person
    ordered = sorted(
        (figures for figures in rows.values() if figures.staff is not None),
        key=lambda figures: (-figures.replies, figures.staff.get_username()),
    )
    started = Conversation.objects.filter(**in_period).count()
    return Figures(
        days=days, rows=ordered, totals=totals, started=started, now=inbox_counts(now=now)
    )
