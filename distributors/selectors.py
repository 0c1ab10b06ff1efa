"""Reads of the distributor network."""

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.days import span_bounds
from core.money import ZERO, from_db_sum
from orders.models import Order

from .models import (
    CustomerBinding,
    Distributor,
    DistributorApplication,
    Grade,
    TrainingResource,
)

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

    def keep(self, grade: Grade) -> bool:
        """Whether these figures (of one evaluation period) keep `grade` (保级)."""
        return (
            self.personal_sales >= grade.keep_personal_sales
            and self.team_sales >= grade.keep_team_sales
            and self.direct_recruits >= grade.keep_direct_recruits
        )


def grade_figures(distributor: Distributor) -> GradeFigures:
    """Personal sales (goods of their own attributed orders), team sales (the same
    over every descendant, by the nested-set range) and direct recruits: two queries.

    `distributor` must carry fresh lft/rght (read it in this transaction).
    """
    return _figures_of(distributor)


def period_figures(distributor: Distributor, start: date, end: date) -> GradeFigures:
    """What a grade's keeping conditions look at, over the days `start`..`end` (shop time):
    personal and team sales of the orders paid in them (goods kept, as grade_figures),
    and the direct recruits who joined in them. Two queries.

    `distributor` must carry fresh lft/rght (read it in this transaction).
    """
    return _figures_of(distributor, span_bounds(start, end))


def _figures_of(
    distributor: Distributor, bounds: tuple[datetime, datetime] | None = None
) -> GradeFigures:
    """grade_figures over all time, or over [since, until) when `bounds` are given."""
    orders = paid_orders().filter(
        distributor__tree_id=distributor.tree_id,
        distributor__lft__gte=distributor.lft,
        distributor__rght__lte=distributor.rght,
    )
    recruits = Distributor.objects.filter(parent_id=distributor.pk)
    if bounds is not None:
        since, until = bounds
        orders = orders.filter(paid_at__gte=since, paid_at__lt=until)
        recruits = recruits.filter(joined_at__gte=since, joined_at__lt=until)
    own = Q(distributor_id=distributor.pk)
    sums = orders.aggregate(personal=Sum(KEPT_GOODS, filter=own), team=Sum(KEPT_GOODS, filter=~own))
    return GradeFigures(
        personal_sales=from_db_sum(sums["personal"]),
        team_sales=from_db_sum(sums["team"]),
        direct_recruits=recruits.count(),
    )


def network_figures(start: date | None = None, end: date | None = None) -> dict[int, GradeFigures]:
    """The figures of every distributor at once, by id: over the days `start`..`end`
    like period_figures, or over all time like grade_figures when no days are given.

    Three queries whatever the size of the network (own sales grouped by
    distributor, recruits grouped by recruiter, every parent link), then team
    sales are summed up the tree in Python (`roll_up_team_sales`). By parent
    links, so members not yet placed in the nested set count at once.
    """
    orders = paid_orders().filter(distributor__isnull=False)
    recruits = Distributor.objects.filter(parent__isnull=False)
    if start is not None:
        since, until = span_bounds(start, end or start)
        orders = orders.filter(paid_at__gte=since, paid_at__lt=until)
        recruits = recruits.filter(joined_at__gte=since, joined_at__lt=until)
    personal = {
        pk: from_db_sum(total)
        for pk, total in orders.order_by()
        .values("distributor_id")
        .annotate(total=Sum(KEPT_GOODS))
        .values_list("distributor_id", "total")
    }
    recruited = dict(
        recruits.order_by()
        .values("parent_id")
        .annotate(n=Count("pk"))
        .values_list("parent_id", "n")
    )
    parents = dict(Distributor.objects.order_by().values_list("pk", "parent_id"))
    team = roll_up_team_sales(parents, personal)
    return {
        pk: GradeFigures(
            personal_sales=personal.get(pk, ZERO),
            team_sales=team[pk],
            direct_recruits=recruited.get(pk, 0),
        )
        for pk in parents
    }


def roll_up_team_sales(
    parents: Mapping[int, int | None], personal: Mapping[int, Decimal]
) -> dict[int, Decimal]:
    """Each node's team sales: the personal sales of everyone below it, at any depth.

    `parents` maps every node to its parent (None for a root). Pure and linear:
    nodes are ordered parents before children (breadth first from the roots),
    then each one's subtotal is added to its parent's, deepest first.
    """
    children: dict[int, list[int]] = {}
    for node, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(node)
    order = [node for node, parent in parents.items() if parent is None]
    queue = deque(order)
    while queue:
        for child in children.get(queue.popleft(), ()):
            order.append(child)
            queue.append(child)
    team = dict.fromkeys(parents, ZERO)
    for node in reversed(order):
        parent = parents[node]
        if parent is not None:
            team[parent] += team[node] + personal.get(node, ZERO)
    return team


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


# --- My customers (我的客户) ----------------------------------------------------------

EXPIRING_SOON = timedelta(days=7)  # a binding ending within this gets a warning


def _binding_in_force(now: datetime) -> Q:
    return Q(ended_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def bindings_in_force(now: datetime) -> QuerySet[CustomerBinding]:
    """Open bindings that have not expired: who binds a customer now (推广关系), as
    CustomerBinding.is_in_force reads one binding."""
    return CustomerBinding.objects.filter(_binding_in_force(now))


def _binding_over(now: datetime) -> Q:
    """Ended by a rebind, or lapsed (an expiring binding whose time is up)."""
    return Q(ended_at__isnull=False) | Q(expires_at__lte=now)


def customers_of(distributor: Distributor, *, ended: bool, now: datetime) -> QuerySet:
    """The distributor's customer bindings (推广关系): those in force, newest first,
    or (`ended`) those that ended or lapsed, most recently over first.

    Each row carries `order_count` and `credited_sales` (goods kept of the
    customer's paid orders credited to this distributor) and `last_phone` (the
    recipient phone of the customer's last order credited to them). A page of
    it is one query whatever the number of customers.
    """
    credited = Order.objects.filter(distributor_id=distributor.pk, user_id=OuterRef("customer_id"))
    paid = credited.filter(status__in=Order.PAID_STATUSES).order_by().values("user_id")
    money = DecimalField(max_digits=14, decimal_places=2)
    rows = (
        CustomerBinding.objects.filter(distributor=distributor)
        .filter(_binding_over(now) if ended else _binding_in_force(now))
        .select_related("customer")
        .annotate(
            order_count=Coalesce(Subquery(paid.annotate(n=Count("pk")).values("n")), Value(0)),
            credited_sales=Coalesce(
                Subquery(paid.annotate(total=Sum(KEPT_GOODS)).values("total"), output_field=money),
                Value(ZERO),
                output_field=money,
            ),
            last_phone=Subquery(
                credited.order_by("-created_at", "-pk").values("recipient_phone")[:1]
            ),
        )
    )
    if ended:
        over_at = Coalesce("ended_at", "expires_at")
        return rows.order_by(over_at.desc(), "-pk")
    return rows.order_by("-bound_at", "-pk")


@dataclass(frozen=True)
class CustomerCounts:
    current: int
    ended: int
    expiring_soon: int


def customer_counts(distributor: Distributor, *, now: datetime) -> CustomerCounts:
    """How many bindings are in force, over, and in force but ending within
    EXPIRING_SOON: one query."""
    soon = _binding_in_force(now) & Q(expires_at__lte=now + EXPIRING_SOON)
    counts = CustomerBinding.objects.filter(distributor=distributor).aggregate(
        current=Count("pk", filter=_binding_in_force(now)),
        ended=Count("pk", filter=_binding_over(now)),
        expiring_soon=Count("pk", filter=soon),
    )
    return CustomerCounts(**counts)


def mask_phone(phone: str) -> str:
    """A phone number others may see: its first three and last four digits (138****5678)."""
    phone = (phone or "").strip()
    if len(phone) >= 7:
        return f"{phone[:3]}****{phone[-4:]}"
    return "****" if phone else ""


def mask_name(name: str) -> str:
    """A name others may see: its first character and an asterisk (张*)."""
    name = (name or "").strip()
    return f"{name[:1]}*" if name else "*"


@dataclass(frozen=True)
class CustomerRow:
    """One customer as their distributor sees them: name and phone masked."""

    pk: int
    name: str
    phone: str
    rule: str
    bound_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None
    order_count: int
    credited_sales: Decimal
    expires_soon: bool

    @property
    def over_at(self) -> datetime | None:
        """When the binding ended (a rebind) or its time is up; None for good."""
        return self.ended_at or self.expires_at


def customer_rows(bindings, *, now: datetime) -> list[CustomerRow]:
    """Rows of `customers_of` for a page: nothing in them shows a whole name or number."""
    rows = []
    for binding in bindings:
        customer = binding.customer
        in_force = binding.is_in_force(now)
        rows.append(
            CustomerRow(
                pk=binding.pk,
                name=mask_name(customer.get_full_name() or customer.get_username()),
                phone=mask_phone(customer.phone or binding.last_phone or ""),
                rule=binding.get_rule_display(),
                bound_at=binding.bound_at,
                expires_at=binding.expires_at,
                ended_at=binding.ended_at,
                order_count=binding.order_count,
                credited_sales=from_db_sum(binding.credited_sales),
                expires_soon=bool(
                    in_force and binding.expires_at and binding.expires_at <= now + EXPIRING_SOON
                ),
            )
        )
    return rows
