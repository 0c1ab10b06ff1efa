"""Sales contests (销售竞赛): who may take part, live standings, and settlement.

A contest ranks the active distributors of its grades (all grades when it names
none) by its metric over [starts_at, ends_at), with the figures and the ranking
rule of the leaderboards (``marketing.leaderboards``): of equal figures, whoever
reached it first, then the lower distributor id, so ranks are never shared.

Settlement runs once per contest after it ends (``settle_contest``, from the
beat task ``settle_ended_contests``): rank prizes go to the ranks they name,
target prizes to everyone whose figure reaches the target, and a cash prize is
paid into the ledger at once (``commissions.bonuses.pay_prize``).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from commissions.bonuses import pay_prize
from distributors.models import Distributor

from . import leaderboards
from .leaderboards import Standing
from .models import Contest, ContestAward, ContestPrize

ENDED_SHOWN = 20  # the contest list shows this many of the latest ended contests


class Status:
    """Where a contest is in its life, as staff and distributors read it."""

    UPCOMING = "upcoming"
    RUNNING = "running"
    ENDED = "ended"  # ended, waiting for the settlement task
    SETTLED = "settled"

    labels = {
        UPCOMING: _("Upcoming"),
        RUNNING: _("Running"),
        ENDED: _("Ended"),
        SETTLED: _("Settled"),
    }

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return list(cls.labels.items())


def status_of(contest: Contest, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if contest.settled_at is not None:
        return Status.SETTLED
    if now < contest.starts_at:
        return Status.UPCOMING
    if now < contest.ends_at:
        return Status.RUNNING
    return Status.ENDED


def in_status(contests: QuerySet, status: str, now: datetime | None = None) -> QuerySet:
    """The contests of `contests` that are in `status` at `now`."""
    now = now or timezone.now()
    return contests.filter(
        {
            Status.UPCOMING: Q(settled_at__isnull=True, starts_at__gt=now),
            Status.RUNNING: Q(settled_at__isnull=True, starts_at__lte=now, ends_at__gt=now),
            Status.ENDED: Q(settled_at__isnull=True, ends_at__lte=now),
            Status.SETTLED: Q(settled_at__isnull=False),
        }[status]
    )


# --- Who takes part -------------------------------------------------------------


def open_to(distributor: Distributor) -> QuerySet[Contest]:
    """Published contests the distributor's grade may take part in (one query, no
    duplicates: the grades are tested with EXISTS, not a join)."""
    grades = Contest.grades.through.objects.filter(contest_id=OuterRef("pk"))
    return Contest.objects.filter(is_active=True).filter(
        ~Exists(grades) | Exists(grades.filter(grade_id=distributor.grade_id))
    )


@dataclass(frozen=True)
class ContestList:
    running: list[Contest]
    upcoming: list[Contest]
    ended: list[Contest]


def contests_for(distributor: Distributor, now: datetime | None = None) -> ContestList:
    """The distributor's running, upcoming and latest ended contests, with their
    prizes: two queries."""
    now = now or timezone.now()
    contests = list(
        open_to(distributor)
        .filter(Q(ends_at__gt=now) | Q(pk__in=_latest_ended(distributor, now)))
        .prefetch_related("prizes")
        .order_by("starts_at", "pk")
    )
    ended = [c for c in contests if c.ends_at <= now]
    ended.sort(key=lambda c: (c.ends_at, c.pk), reverse=True)
    return ContestList(
        running=[c for c in contests if c.starts_at <= now < c.ends_at],
        upcoming=[c for c in contests if now < c.starts_at],
        ended=ended,
    )


def _latest_ended(distributor: Distributor, now: datetime) -> QuerySet:
    ended = open_to(distributor).filter(ends_at__lte=now).order_by("-ends_at", "-pk")
    return ended.values("pk")[:ENDED_SHOWN]


def contest_for(distributor: Distributor, pk: int) -> Contest:
    """One contest the distributor may take part in, with its grades and prizes (404
    for anyone else, and for an unpublished contest)."""
    return get_object_or_404(open_to(distributor).prefetch_related("grades", "prizes"), pk=pk)


# --- Standings ------------------------------------------------------------------


def figures_of(contest: Contest) -> QuerySet:
    """The figures of the contest's eligible distributors over its period, ranked
    (``leaderboards.figures``); reads the grades prefetched on `contest`."""
    grade_ids = [grade.pk for grade in contest.grades.all()]
    return leaderboards.figures(
        contest.metric,
        start=contest.starts_at,
        end=contest.ends_at,
        grade_ids=grade_ids or None,
    )


def standings(contest: Contest, distributor_id: int | None = None, *, top: int | None = None):
    """Live standings (cached for a minute, like the boards): the top `top` and the
    distributor's own row."""
    # What decides the figures is in the key: staff editing it show new standings at once.
    period = f"{contest.starts_at.timestamp():.0f}-{contest.ends_at.timestamp():.0f}"
    grades = ",".join(str(grade.pk) for grade in contest.grades.all())
    key = f"contest:{contest.pk}:{contest.metric}:{period}:{grades}"
    return leaderboards.standing(
        key, contest.metric, figures_of(contest), distributor_id, limit=top
    )


@dataclass(frozen=True)
class Entry:
    """A distributor's place in a contest as staff see it: unmasked."""

    rank: int
    distributor_id: int
    username: str
    first_name: str
    value: Decimal | int
    reached: datetime


def full_standings(contest: Contest, limit: int | None = None) -> list[Entry]:
    """The eligible distributors with a figure, ranked, unmasked and uncached (for
    settlement, the admin and its CSV): one query."""
    rows = figures_of(contest)
    if limit is not None:
        rows = rows[:limit]
    return [
        Entry(
            rank=rank,
            distributor_id=row["who"],
            username=row["username"],
            first_name=row["first_name"],
            value=leaderboards.value_of(contest.metric, row["value"]),
            reached=row["reached"],
        )
        for rank, row in enumerate(rows, start=1)
    ]


@dataclass(frozen=True)
class TargetProgress:
    prize: ContestPrize
    value: Decimal | int
    reached: bool

    @property
    def percent(self) -> int:
        if self.reached:
            return 100
        return int(Decimal(self.value) * 100 / self.prize.target)


def progress(contest: Contest, standing: Standing) -> list[TargetProgress]:
    """How far the distributor's own figure is towards each target prize."""
    value = standing.own.value if standing.own else 0
    return [
        TargetProgress(prize=prize, value=value, reached=value >= prize.target)
        for prize in contest.prizes.all()
        if prize.kind == ContestPrize.Kind.TARGET
    ]


def awards_of(contest: Contest, distributor: Distributor) -> QuerySet[ContestAward]:
    return contest.awards.filter(distributor=distributor).select_related("prize", "bonus")


# --- Settlement -----------------------------------------------------------------


def winners(prizes: list[ContestPrize], rows: list[Entry]) -> list[tuple[ContestPrize, Entry]]:
    """Who wins each prize (pure): a rank prize the rows ranked rank_from..rank_to
    (rank_from alone when rank_to is empty), a target prize every row reaching the
    target. `rows` are ranked, with figures above zero."""
    won = []
    for prize in prizes:
        if prize.kind == ContestPrize.Kind.RANK:
            last = prize.rank_to or prize.rank_from
            won += [(prize, row) for row in rows if prize.rank_from <= row.rank <= last]
        else:
            won += [(prize, row) for row in rows if row.value >= prize.target]
    return won


def to_settle(now: datetime | None = None) -> list[int]:
    """Ids of published contests that ended and are not settled yet."""
    return list(
        in_status(Contest.objects.filter(is_active=True), Status.ENDED, now)
        .order_by("ends_at", "pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def settle_contest(contest_id: int, *, now: datetime | None = None) -> list[ContestAward]:
    """Rank an ended, published contest and award its prizes, once.

    The contest is claimed with a conditional update (settled_at empty -> now):
    a second delivery, a retry after success, or a concurrent run finds it
    claimed and awards nothing (under PostgreSQL the second update waits for
    the first transaction, then sees the claim). The awards, their cash in the
    ledger and the claim commit together, so a failure leaves the contest
    unsettled for the next run; the unique (contest, prize, distributor)
    constraint backs this up. Returns the awards made (empty when claimed before).
    """
    now = now or timezone.now()
    claimed = Contest.objects.filter(
        pk=contest_id, is_active=True, settled_at__isnull=True, ends_at__lte=now
    ).update(settled_at=now)
    if not claimed:
        return []
    contest = Contest.objects.prefetch_related("grades", "prizes").get(pk=contest_id)
    awards = []
    for prize, row in winners(list(contest.prizes.all()), full_standings(contest)):
        bonus = None
        if prize.cash > 0:
            note = gettext("%(contest)s, rank %(rank)s: %(prize)s") % {
                "contest": contest.name,
                "rank": row.rank,
                "prize": prize,
            }
            bonus = pay_prize(row.distributor_id, prize.cash, note=note)
        awards.append(
            ContestAward.objects.create(
                contest=contest,
                prize=prize,
                distributor_id=row.distributor_id,
                rank=row.rank,
                value=Decimal(row.value),
                bonus=bonus,
                awarded_at=now,
            )
        )
    return awards
