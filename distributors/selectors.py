"""Reads of the distributor network."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.money import ZERO
from orders.models import Order

from .models import Distributor, DistributorApplication, Grade, TrainingResource

MAX_CHAIN_DEPTH = 3  # the law's ceiling (禁止传销条例): never more than three tiers


def distributor_by_code(code: str) -> Distributor | None:
    if not code:
        return None
    return (
        Distributor.objects.select_related("user")
        .filter(invite_code=code.strip().upper(), status=Distributor.Status.ACTIVE)
        .first()
    )


def referral_chain_ids(distributor_id: int, depth: int = MAX_CHAIN_DEPTH) -> list[int]:
    """Ids of the distributor and its ancestors, nearest first, at most `depth`.

    One recursive query over parent links: unlike MPTT's get_ancestors() its
    cost depends on the depth asked for, not on the size of the tree.
    """
    sql = f"""
        WITH RECURSIVE chain(id, parent_id, depth) AS (
            SELECT id, parent_id, 1 FROM {Distributor._meta.db_table} WHERE id = %s
            UNION ALL
            SELECT d.id, d.parent_id, chain.depth + 1
            FROM {Distributor._meta.db_table} d JOIN chain ON d.id = chain.parent_id
            WHERE chain.depth < %s
        )
        SELECT id FROM chain ORDER BY depth
    """  # noqa: S608 - the only interpolation is our own table name
    with connection.cursor() as cursor:
        cursor.execute(sql, [distributor_id, depth])
        return [row[0] for row in cursor.fetchall()]


def is_in_subtree(candidate_id: int, root_id: int) -> bool:
    """Whether `candidate_id` is `root_id` or below it, by parent links (never stale)."""
    return root_id in referral_chain_ids(candidate_id, depth=10_000)


# --- Sales and grades ------------------------------------------------------------


def paid_orders() -> QuerySet[Order]:
    """Orders whose money was received and (at least partly) kept."""
    return Order.objects.filter(status__in=Order.PAID_STATUSES)


# Goods of an order less what after-sale refunds gave back (in a paid status these
# are goods only: a refund that includes shipping refunds the whole order).
KEPT_GOODS = F("subtotal") - F("refunded_total")


@dataclass(frozen=True)
class GradeFigures:
    """What a grade's rules look at, for one distributor."""

    personal_sales: Decimal
    team_sales: Decimal
    direct_recruits: int

    def meet(self, grade: Grade) -> bool:
        return (
            self.personal_sales >= grade.min_personal_sales
            and self.team_sales >= grade.min_team_sales
            and self.direct_recruits >= grade.min_direct_recruits
        )


def grade_figures(distributor: Distributor) -> GradeFigures:
    """Personal sales (goods of their own attributed orders), team sales (the same
    over every descendant, by the nested-set range) and direct recruits: two queries.

    `distributor` must carry fresh lft/rght (read it in this transaction).
    """
    own = Q(distributor_id=distributor.pk)
    sums = (
        paid_orders()
        .filter(
            distributor__tree_id=distributor.tree_id,
            distributor__lft__gte=distributor.lft,
            distributor__rght__lte=distributor.rght,
        )
        .aggregate(personal=Sum(KEPT_GOODS, filter=own), team=Sum(KEPT_GOODS, filter=~own))
    )
    recruits = Distributor.objects.filter(parent_id=distributor.pk).count()
    return GradeFigures(
        personal_sales=sums["personal"] or ZERO,
        team_sales=sums["team"] or ZERO,
        direct_recruits=recruits,
    )


def next_grade(distributor: Distributor) -> Grade | None:
    """The grade just above the distributor's, if any (for showing progress)."""
    rank = distributor.grade.rank if distributor.grade else -1
    return Grade.objects.filter(rank__gt=rank).order_by("rank").first()


def upline_ids(distributor_id: int) -> list[int]:
    """The distributor and all their ancestors, nearest first (every one whose
    team sales include the distributor's). By parent links: right even for a
    member who joined moments ago and is not placed in the nested set yet."""
    return referral_chain_ids(distributor_id, depth=10_000)


def ids_below_top_grade() -> list[int]:
    """Active distributors who could still be promoted, in primary-key order."""
    top = Grade.objects.order_by("-rank").values_list("rank", flat=True).first()
    if top is None:
        return []
    return list(
        Distributor.objects.filter(status=Distributor.Status.ACTIVE)
        .filter(Q(grade__isnull=True) | Q(grade__rank__lt=top))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- Team (我的团队) ------------------------------------------------------------------

TEAM_DEPTH = 3  # the team page shows members down to three levels below


def _team_range(distributor: Distributor) -> Q:
    """Descendants down to TEAM_DEPTH levels, by the nested-set range and level
    (`distributor` must carry fresh lft/rght)."""
    return Q(
        tree_id=distributor.tree_id,
        lft__gt=distributor.lft,
        rght__lt=distributor.rght,
        level__lte=distributor.level + TEAM_DEPTH,
    )


@dataclass(frozen=True)
class TeamTotals:
    members: int
    sales: Decimal


def _personal_sales_of_row() -> Coalesce:
    """Goods of the paid orders credited to the outer row, as a correlated subquery."""
    sales = (
        paid_orders()
        .filter(distributor_id=OuterRef("pk"))
        .order_by()
        .values("distributor_id")
        .annotate(total=Sum(KEPT_GOODS))
        .values("total")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    return Coalesce(Subquery(sales, output_field=money), Value(ZERO), output_field=money)


def team_of(distributor: Distributor) -> QuerySet[Distributor]:
    """Members down to TEAM_DEPTH levels below `distributor`, in tree order.

    Each row carries `depth` (1 = recruited by the distributor) and
    `personal_sales`; a page of it is one query whatever the team's size
    (nested-set range and level, no recursion).
    """
    return (
        Distributor.objects.filter(_team_range(distributor))
        .select_related("user", "parent__user")
        .annotate(depth=F("level") - distributor.level)
        .annotate(personal_sales=_personal_sales_of_row())
        .order_by("lft")
    )


def team_totals(distributor: Distributor) -> TeamTotals:
    """Member count and sales of the team `team_of` lists, in one query."""
    totals = (
        Distributor.objects.filter(_team_range(distributor))
        .annotate(personal_sales=_personal_sales_of_row())
        .aggregate(members=Count("pk"), sales=Sum("personal_sales"))
    )
    return TeamTotals(members=totals["members"], sales=totals["sales"] or ZERO)


def team_member(distributor: Distributor, member_id: int) -> Distributor:
    """One member of the distributor's team (404 for anyone outside it)."""
    return get_object_or_404(team_of(distributor), pk=member_id)


# --- Applications and training -------------------------------------------------------


def latest_application_of(user) -> DistributorApplication | None:
    return DistributorApplication.objects.filter(user=user).order_by("-created_at", "-pk").first()


def training_for(distributor: Distributor, *, now: datetime | None = None):
    """Published training resources the distributor's grade may see, newest first."""
    rank = distributor.grade.rank if distributor.grade else 0
    return (
        TrainingResource.objects.filter(is_published=True, published_at__lte=now or timezone.now())
        .filter(Q(min_grade__isnull=True) | Q(min_grade__rank__lte=rank))
        .select_related("min_grade")
    )


def training_resource_for(distributor: Distributor, pk: int) -> TrainingResource:
    """One resource the distributor may see (404 above their grade or unpublished)."""
    return get_object_or_404(training_for(distributor), pk=pk)
