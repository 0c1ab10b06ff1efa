"""The merchant's campaign report (活动报表): what each coupon and time-limited discount
brought in over a period, read in a fixed number of queries however many campaigns
and orders there are.

An order counts for the period it was paid in (placed and never paid: not at all).
A coupon's figures are those of the orders that used it; a time-limited discount's,
those of its variants' lines that were sold at a reduced price in orders placed
while it ran (where two discounts overlapped on a variant, such a line counts for
both, and the totals count it once). Goods are what the lines were paid, as sold;
commissions are what the orders' distributors keep after refunds reversed theirs.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from commissions.models import Commission
from core.days import DayRange
from core.money import ZERO, from_db_sum
from orders.models import Order, OrderLine

from .models import Coupon, CouponClaim, TimedDiscount, TimedDiscountItem

DEFAULT_DAYS = 30
MONEY = DecimalField(max_digits=14, decimal_places=2)


class Period(DayRange):
    """The days of a campaign report (core.days.DayRange), by default the last 30."""

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, *, today: date | None = None) -> "Period":
        return super().last_days(days, today=today)


@dataclass
class Figures:
    """What a campaign (or all of them) brought in. `claimed` and `used` are a coupon's."""

    orders: int = 0
    units: int = 0
    goods: Decimal = ZERO  # what the goods were paid
    discount: Decimal = ZERO  # what the campaign took off them
    commissions: Decimal = ZERO  # net of reversals
    claimed: int | None = None
    used: int | None = None

    def add(self, other: "Figures") -> None:
        self.orders += other.orders
        self.units += other.units
        self.goods += other.goods
        self.discount += other.discount
        self.commissions += other.commissions
        if other.claimed is not None:
            self.claimed = (self.claimed or 0) + other.claimed
            self.used = (self.used or 0) + (other.used or 0)


@dataclass(frozen=True)
class Row:
    campaign: Coupon | TimedDiscount
    figures: Figures


@dataclass
class CampaignReport:
    period: Period
    coupons: list[Row] = field(default_factory=list)
    coupon_totals: Figures = field(default_factory=lambda: Figures(claimed=0, used=0))
    discounts: list[Row] = field(default_factory=list)
    discount_totals: Figures = field(default_factory=Figures)


def _paid_in(period: Period) -> Q:
    """Rows of orders paid in `period` (a paid order is never cancelled; said anyway)."""
    return Q(order__paid_at__gte=period.since, order__paid_at__lt=period.until) & ~Q(
        order__status=Order.Status.CANCELLED
    )


class _Total(Subquery):
    """One aggregate (SUM, COUNT…) over all the rows of a correlated queryset: a
    subquery of one row, whose SUM is NULL when there are no rows (`_sum` makes it 0)."""

    def __init__(self, queryset: QuerySet, function: str, expression, output_field, **extra):
        value = Func(expression, function=function, output_field=output_field, **extra)
        super().__init__(
            queryset.order_by().annotate(_total=value).values("_total")[:1],
            output_field=output_field,
        )


def _sum(queryset, expression, output_field=MONEY):
    zero = ZERO if isinstance(output_field, DecimalField) else 0
    return Coalesce(
        _Total(queryset, "SUM", expression, output_field), zero, output_field=output_field
    )


def _count_distinct(queryset, name: str):
    return _Total(
        queryset,
        "COUNT",
        F(name),
        IntegerField(),
        template="%(function)s(DISTINCT %(expressions)s)",
    )


def _figures(row, *, coupon: bool) -> Figures:
    return Figures(
        orders=row.report_orders or 0,
        units=row.report_units or 0,
        goods=from_db_sum(row.report_goods),
        discount=from_db_sum(row.report_discount),
        commissions=from_db_sum(row.report_commissions),
        claimed=row.report_claimed if coupon else None,
        used=row.report_used if coupon else None,
    )


# --- coupons ---------------------------------------------------------------------------


def coupons_in(period: Period) -> QuerySet[Coupon]:
    """The coupons claimed, used or paid with in `period`, newest first, each with
    its figures as `report_*` annotations. One query."""
    claims = CouponClaim.objects.filter(coupon=OuterRef("pk"))
    lines = OrderLine.objects.filter(
        _paid_in(period), order__coupon_claim__coupon=OuterRef("pk"), is_gift=False
    )
    commissions = Commission.objects.filter(
        _paid_in(period), order__coupon_claim__coupon=OuterRef("pk")
    )
    return (
        Coupon.objects.annotate(
            report_claimed=_count_distinct(
                claims.filter(claimed_at__gte=period.since, claimed_at__lt=period.until), "pk"
            ),
            report_used=_count_distinct(
                claims.filter(used_at__gte=period.since, used_at__lt=period.until), "pk"
            ),
            report_orders=_count_distinct(lines, "order_id"),
            report_units=_sum(lines, F("quantity"), IntegerField()),
            report_goods=_sum(lines, F("paid_amount")),
            report_discount=_sum(lines, F("coupon_discount")),
            report_commissions=_sum(commissions, F("amount") - F("reversed_amount")),
        )
        .filter(Q(report_claimed__gt=0) | Q(report_used__gt=0) | Q(report_orders__gt=0))
        .order_by("-created_at", "-pk")
    )


def coupon_rows(period: Period) -> Iterator[Row]:
    """The rows of `coupons_in`, streamed."""
    for coupon in coupons_in(period).iterator(chunk_size=500):
        yield Row(coupon, _figures(coupon, coupon=True))


# --- time-limited discounts ------------------------------------------------------------


def _discount_lines(period: Period, discount) -> QuerySet[OrderLine]:
    """The lines sold at a reduced price of `discount`'s variants, in orders placed
    while it ran and paid in `period`. `discount` refers to the discount row (an
    OuterRef, as deep as the caller needs)."""
    return OrderLine.objects.filter(
        _paid_in(period),
        sale_discount__gt=0,
        order__created_at__gte=discount("starts_at"),
        order__created_at__lt=discount("ends_at"),
        # one level deeper again: the discount is an outer reference of the outer query
        variant_id__in=TimedDiscountItem.objects.filter(discount=OuterRef(discount("pk"))).values(
            "variant_id"
        ),
    )


def discounts_in(period: Period) -> QuerySet[TimedDiscount]:
    """The time-limited discounts that ran in `period` or sold in it, latest first,
    each with its figures as `report_*` annotations. One query."""
    lines = _discount_lines(period, lambda name: OuterRef(name))
    # The commission subquery is one level deeper: its lines refer two levels out.
    deep_lines = _discount_lines(period, lambda name: OuterRef(OuterRef(name)))
    commissions = Commission.objects.filter(order_id__in=deep_lines.values("order_id"))
    return (
        TimedDiscount.objects.annotate(
            report_orders=_count_distinct(lines, "order_id"),
            report_units=_sum(lines, F("quantity"), IntegerField()),
            report_goods=_sum(lines, F("paid_amount")),
            report_discount=_sum(lines, F("sale_discount")),
            report_commissions=_sum(commissions, F("amount") - F("reversed_amount")),
        )
        .filter(Q(starts_at__lt=period.until, ends_at__gt=period.since) | Q(report_orders__gt=0))
        .order_by("-starts_at", "-pk")
    )


def discount_rows(period: Period) -> Iterator[Row]:
    """The rows of `discounts_in`, streamed."""
    for discount in discounts_in(period).iterator(chunk_size=500):
        yield Row(discount, _figures(discount, coupon=False))


def discount_totals(period: Period) -> Figures:
    """All time-limited discounts together, each line and order once. Two queries."""
    items = TimedDiscountItem.objects.filter(
        variant_id=OuterRef("variant_id"),
        discount__starts_at__lte=OuterRef("order__created_at"),
        discount__ends_at__gt=OuterRef("order__created_at"),
    )
    lines = OrderLine.objects.filter(_paid_in(period), Exists(items), sale_discount__gt=0)
    figures = lines.aggregate(
        orders=Count("order_id", distinct=True),
        units=Sum("quantity"),
        goods=Sum("paid_amount"),
        discount=Sum("sale_discount"),
    )
    kept = Commission.objects.filter(order_id__in=lines.values("order_id")).aggregate(
        net=Sum(F("amount") - F("reversed_amount"))
    )
    return Figures(
        orders=figures["orders"],
        units=figures["units"] or 0,
        goods=from_db_sum(figures["goods"]),
        discount=from_db_sum(figures["discount"]),
        commissions=from_db_sum(kept["net"]),
    )


# --- the whole report ------------------------------------------------------------------


def campaign_report(period: Period) -> CampaignReport:
    """Every campaign of `period` with its figures, and totals. Four queries."""
    report = CampaignReport(period=period)
    for row in coupon_rows(period):
        report.coupons.append(row)
        report.coupon_totals.add(row.figures)
    report.discounts = list(discount_rows(period))
    report.discount_totals = discount_totals(period)
    return report
