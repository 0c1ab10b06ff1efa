"""Leaderboards (排行榜), and the one definition of the figures contests rank by.

A distributor's figures over a period [start, end):

- sales: the goods of the orders attributed to them (``Order.distributor``) paid
  in the period, less what refunds gave back of them: the sales that count for
  grades (``distributors.selectors.paid_orders`` and ``KEPT_GOODS``); cancelled,
  unpaid and fully refunded orders count nothing;
- orders: how many of those orders;
- recruits: distributors who joined in the period with them as parent.

Ranking: the larger figure first; of equal figures, whoever reached it first (the
earlier time of their last counted order or recruit), then the lower distributor
id. Ranks are never shared, so a rank prize always has one winner per rank.

A board is one grouped aggregate (its top rows) plus one query for the asking
distributor's own row, ranked by a window function over the same aggregate:
two queries whatever the number of distributors or orders. Both are cached for
``CACHE_SECONDS`` (the pages say "updated every minute").
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, F, Max, Q, QuerySet, Sum, Window
from django.db.models.functions import FirstValue, RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.days import midnight
from core.money import from_db_sum
from distributors.models import Distributor
from distributors.selectors import KEPT_GOODS, paid_orders

from .models import LeaderboardSettings, Metric

TOP = 50
CACHE_SECONDS = 60
# The larger figure first; of equal ones whoever reached it first, then the lower id.
RANKING = (F("value").desc(), F("reached").asc(), F("who").asc())


class Board:
    """The leaderboards distributors may see, by the metric each ranks."""

    SALES = Metric.SALES
    RECRUITS = Metric.RECRUITS
    ALL = (SALES, RECRUITS)


PERIODS = {
    "week": _("This week"),
    "month": _("This month"),
    "all": _("All time"),
}


@dataclass(frozen=True)
class Row:
    """One distributor on a board: rank (1 is first), masked name, figure."""

    rank: int
    distributor_id: int
    name: str
    value: Decimal | int  # yuan for sales, a count otherwise


# --- Periods --------------------------------------------------------------------


def period_start(period: str, now: datetime | None = None) -> datetime | None:
    """The local midnight a period starts at: Monday of this week, the 1st of
    this month; None for all time."""
    today = timezone.localdate(now or timezone.now())
    if period == "week":
        first = today - timedelta(days=today.weekday())
    elif period == "month":
        first = today.replace(day=1)
    elif period == "all":
        return None
    else:
        raise ValueError(f"unknown period {period!r}")
    return midnight(first)


# --- Figures --------------------------------------------------------------------


def figures(
    metric: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    grade_ids: list[int] | None = None,
) -> QuerySet:
    """Each active distributor's figure over [start, end), one row per distributor
    with a figure above zero: ``who`` (distributor id), ``value``, ``reached``
    (when they reached it) and their ``first_name``/``username`` for the masked name.

    ``grade_ids`` keeps only distributors of those grades. The rows are in
    RANKING order.
    """
    if metric == Metric.RECRUITS:
        rows, by, when = Distributor.objects.filter(parent__isnull=False), "parent", "joined_at"
        value = Count("pk")
    else:
        rows, by, when = paid_orders().filter(distributor__isnull=False), "distributor", "paid_at"
        value = Sum(KEPT_GOODS) if metric == Metric.SALES else Count("pk")
    period = Q()
    if start is not None:
        period &= Q(**{f"{when}__gte": start})
    if end is not None:
        period &= Q(**{f"{when}__lt": end})
    rows = rows.filter(period, **{f"{by}__status": Distributor.Status.ACTIVE})
    if grade_ids is not None:
        rows = rows.filter(**{f"{by}__grade_id__in": grade_ids})
    return (
        rows.order_by()
        .values(
            who=F(f"{by}_id"),
            first_name=F(f"{by}__user__first_name"),
            username=F(f"{by}__user__username"),
        )
        .annotate(value=value, reached=Max(when))
        .filter(value__gt=0)
        .order_by(*RANKING)
    )


def ranked(rows: QuerySet) -> QuerySet:
    """`rows` (from ``figures``) with each one's ``rank`` over all of them."""
    return rows.annotate(
        rank=Window(RowNumber(), order_by=RANKING),
        # The distributor id as a window value: a filter on it is applied after
        # ranking (QUALIFY), not before, where it would leave one row ranked 1st.
        ranked_who=Window(FirstValue("who"), partition_by=[F("who")]),
    )


def value_of(metric: str, value) -> Decimal | int:
    """A figure as the database summed it: yuan to the fen for sales, else a count."""
    return from_db_sum(value) if metric == Metric.SALES else int(value)


def to_row(metric: str, row: dict, rank: int) -> Row:
    return Row(
        rank=rank,
        distributor_id=row["who"],
        name=mask_name(row["first_name"], row["username"]),
        value=value_of(metric, row["value"]),
    )


def top_rows(metric: str, rows: QuerySet, limit: int) -> list[Row]:
    """The first `limit` rows of `figures(metric, ...)`, ranked: one query."""
    return [to_row(metric, row, rank) for rank, row in enumerate(rows[:limit], start=1)]


def own_row(metric: str, rows: QuerySet, distributor_id: int) -> Row | None:
    """The distributor's rank and figure over all of `rows` (None without a figure): one query."""
    row = ranked(rows).filter(ranked_who=distributor_id).first()
    return to_row(metric, row, row["rank"]) if row else None


def mask_name(first_name: str, username: str) -> str:
    """A name others may see: the first character and asterisks (张**, a**); a mobile
    number keeps its first three and last four digits (138****8000). The asterisks
    do not tell the length."""
    name = (first_name or "").strip() or username or ""
    if len(name) == 11 and name.isdigit():
        return f"{name[:3]}****{name[-4:]}"
    return f"{name[:1]}**" if name else "**"


# --- Boards ---------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """A board as one distributor sees it: the top rows and their own."""

    rows: list[Row]
    own: Row | None


def enabled_boards(settings: LeaderboardSettings | None = None) -> list[str]:
    settings = settings or LeaderboardSettings.get_solo()
    shown = {Board.SALES: settings.shows_sales, Board.RECRUITS: settings.shows_recruits}
    return [board for board in Board.ALL if shown[board]]


def cached(key: str, compute):
    """`compute()`, kept in the cache for CACHE_SECONDS under `key`."""
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


def standing(
    key: str, metric: str, rows: QuerySet, distributor_id: int | None, *, limit: int | None = None
) -> Standing:
    """The top `limit` of `rows` (shared by everyone, cached) and the distributor's
    own row (cached per distributor), under the cache key prefix `key`."""
    limit = limit or TOP
    top = cached(f"{key}:top{limit}", lambda: top_rows(metric, rows, limit))
    own = next((row for row in top if row.distributor_id == distributor_id), None)
    if own is None and distributor_id is not None:
        # In a list, so that "no figure" (None) is cached too.
        own = cached(
            f"{key}:own:{distributor_id}", lambda: [own_row(metric, rows, distributor_id)]
        )[0]
    return Standing(rows=top, own=own)


def board(board: str, period: str, distributor_id: int, *, now: datetime | None = None) -> Standing:
    """A leaderboard (`board`: sales or recruits) of `period` (week, month, all) as the
    distributor sees it. Whether the board is shown is the caller's check."""
    start = period_start(period, now)
    key = f"leaderboard:{board}:{period}:{start.date().isoformat() if start else 'all'}"
    return standing(key, board, figures(board, start=start), distributor_id)
