"""Daily summaries (经营日报): one day's figures computed from the records, and kept.

`compute_day` reads one day in a fixed number of queries (seven, however many
orders the day had) and returns unsaved rows; `rebuild_day` replaces the stored
rows of that day with them in one transaction, so running it again, also
concurrently with another rebuild of the same day, leaves one set of rows. The
nightly task rebuilds the days just ended; `rebuild_range` rebuilds any range on
demand. The dashboard reads stored rows for past days and `compute_day(today)`
live, so today is never stale and no page scans all orders.

Each figure belongs to the day its event happened, in the shop's time zone:
  - an order's sales to the day it was paid (whatever happened to it later),
  - a refund to the day its money went back (payments.Refund succeeded_at),
  - a commission to the day of its ledger entry (accrued, reversed), a
    withdrawal to the day it was paid out (its withdrawal_paid entry),
  - a new customer to the day of their first paid order, a new distributor to
    the day they joined.
These stamps never change once written, so a past day's rows stay right.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from commissions.models import LedgerEntry
from core.days import day_bounds, span_bounds
from core.money import ZERO, from_db_sum
from distributors.models import Distributor
from orders.models import Order, OrderLine
from payments.models import Refund

from .models import DailySummary, DistributorDay, ProductDay

BULK_BATCH = 2000


@dataclass
class DayRows:
    """One day's rows, unsaved: what `rebuild_day` stores and the dashboard reads live."""

    summary: DailySummary
    products: list[ProductDay] = field(default_factory=list)
    distributors: list[DistributorDay] = field(default_factory=list)


def compute_day(day: date) -> DayRows:
    """The figures of `day` from the records: reads only, seven queries."""
    since, until = day_bounds(day)
    paid_that_day = Order.objects.filter(paid_at__gte=since, paid_at__lt=until)
    summary = DailySummary(day=day)

    # Orders paid that day, split by how they came; one row per order.
    by_distributor: dict[int, DistributorDay] = {}
    customers = set()
    for user_id, distributor_id, grade_id, subtotal, total, chain in paid_that_day.values_list(
        "user_id", "distributor_id", "distributor__grade_id", "subtotal", "total", "referral_chain"
    ):
        summary.paid_orders += 1
        summary.gmv += total
        summary.paid_goods += subtotal
        customers.add(user_id)
        if distributor_id is None:
            summary.direct_sales += subtotal
            continue
        if len(chain or ()) >= 2:
            summary.multi_tier_sales += subtotal
        else:
            summary.single_tier_sales += subtotal
        row = by_distributor.get(distributor_id)
        if row is None:
            row = by_distributor[distributor_id] = DistributorDay(
                day=day, distributor_id=distributor_id, grade_id=grade_id, sales=ZERO
            )
        row.orders += 1
        row.sales += subtotal
    summary.paying_customers = len(customers)
    summary.new_customers = (
        paid_that_day.filter(
            ~Exists(Order.objects.filter(user_id=OuterRef("user_id"), paid_at__lt=since))
        )
        .values("user_id")
        .distinct()
        .count()
    )

    counts = Order.objects.filter(
        Q(created_at__gte=since, created_at__lt=until)
        | Q(completed_at__gte=since, completed_at__lt=until)
        | Q(closed_at__gte=since, closed_at__lt=until, status=Order.Status.CANCELLED)
    ).aggregate(
        placed=Count("pk", filter=Q(created_at__gte=since, created_at__lt=until)),
        completed=Count("pk", filter=Q(completed_at__gte=since, completed_at__lt=until)),
        cancelled=Count(
            "pk",
            filter=Q(closed_at__gte=since, closed_at__lt=until, status=Order.Status.CANCELLED),
        ),
    )
    summary.orders_placed = counts["placed"]
    summary.orders_completed = counts["completed"]
    summary.orders_cancelled = counts["cancelled"]

    refunds = Refund.objects.filter(
        status=Refund.Status.SUCCEEDED, succeeded_at__gte=since, succeeded_at__lt=until
    ).aggregate(amount=Sum("amount"), count=Count("pk"))
    summary.refunds = from_db_sum(refunds["amount"])
    summary.refund_count = refunds["count"]

    summary.new_distributors = Distributor.objects.filter(
        joined_at__gte=since, joined_at__lt=until
    ).count()

    _add_ledger(day, since, until, summary, by_distributor)

    products = [
        ProductDay(
            day=day,
            product_id=row["variant__product_id"],
            category_id=row["variant__product__category_id"],
            orders=row["orders"],
            units=row["units"],
            sales=from_db_sum(row["sales"]),
        )
        for row in OrderLine.objects.filter(
            order__paid_at__gte=since, order__paid_at__lt=until, is_gift=False
        )
        .values("variant__product_id", "variant__product__category_id")
        .annotate(
            orders=Count("order", distinct=True), units=Sum("quantity"), sales=Sum("paid_amount")
        )
        .order_by("variant__product_id")
    ]
    distributors = sorted(by_distributor.values(), key=lambda row: row.distributor_id)
    return DayRows(summary=summary, products=products, distributors=distributors)


def _add_ledger(day, since, until, summary, by_distributor) -> None:
    """Commissions accrued and reversed, and withdrawals paid out, from the ledger."""
    kinds = (LedgerEntry.Kind.ACCRUED, LedgerEntry.Kind.REVERSED, LedgerEntry.Kind.WITHDRAWAL_PAID)
    rows = (
        LedgerEntry.objects.filter(created_at__gte=since, created_at__lt=until, kind__in=kinds)
        .values("distributor_id", "distributor__grade_id", "kind")
        .annotate(pending=Sum("pending"), available=Sum("available"), held=Sum("held"))
        .order_by()
    )
    for row in rows:
        pending, available = from_db_sum(row["pending"]), from_db_sum(row["available"])
        if row["kind"] == LedgerEntry.Kind.ACCRUED:
            summary.commissions_accrued += pending
            distributor_id = row["distributor_id"]
            entry = by_distributor.get(distributor_id)
            if entry is None:
                entry = by_distributor[distributor_id] = DistributorDay(
                    day=day,
                    distributor_id=distributor_id,
                    grade_id=row["distributor__grade_id"],
                    sales=ZERO,
                )
            entry.commissions += pending
        elif row["kind"] == LedgerEntry.Kind.REVERSED:
            summary.commissions_reversed -= pending + available
        else:
            summary.commissions_paid -= from_db_sum(row["held"])


@transaction.atomic
def rebuild_day(day: date) -> DailySummary:
    """Replace the stored rows of `day` with `compute_day(day)`; safe to repeat.

    The day's summary row is locked first (created if missing), so two rebuilds
    of one day take turns instead of interleaving their deletes and inserts.
    """
    stored, _created = DailySummary.objects.select_for_update().get_or_create(day=day)
    rows = compute_day(day)
    ProductDay.objects.filter(day=day).delete()
    DistributorDay.objects.filter(day=day).delete()
    rows.summary.pk = stored.pk
    rows.summary.save(force_update=True)
    ProductDay.objects.bulk_create(rows.products, batch_size=BULK_BATCH)
    DistributorDay.objects.bulk_create(rows.distributors, batch_size=BULK_BATCH)
    return rows.summary


def days_to_build(start: date, end: date) -> list[date]:
    """The days from `start` to `end`, both included, none after today (a day to
    come has nothing to summarise)."""
    end = min(end, timezone.localdate())
    return [start + timedelta(days=number) for number in range((end - start).days + 1)]


def rebuild_range(
    start: date, end: date, *, progress: Callable[[int, int, date], None] | None = None
) -> int:
    """Rebuild every day from `start` to `end` (both included, not after today);
    each day is its own transaction. Returns the number of days rebuilt."""
    days = days_to_build(start, end)
    for number, day in enumerate(days, start=1):
        rebuild_day(day)
        if progress is not None:
            progress(number, len(days), day)
    return len(days)


def paying_customers(start: date, end: date) -> int:
    """Customers who paid at least one order on the days `start` to `end` (both included).

    The one figure that does not add up over days (a customer who paid on two
    days is one customer): counted from the orders' (paid_at, user) index alone.
    """
    since, until = span_bounds(start, end)
    return (
        Order.objects.filter(paid_at__gte=since, paid_at__lt=until)
        .values("user_id")
        .distinct()
        .count()
    )


def first_day() -> date | None:
    """The day of the shop's first order (where a full rebuild starts)."""
    first = Order.objects.order_by("created_at").values_list("created_at", flat=True).first()
    return timezone.localdate(first) if first else None


def add_up(rows) -> dict[str, Decimal | int]:
    """The figures of several days' summaries together (all of them add up)."""
    totals: dict[str, Decimal | int] = defaultdict(int)
    for row in rows:
        for name in ADDITIVE_FIELDS:
            totals[name] += getattr(row, name)
    return dict(totals)


ADDITIVE_FIELDS = tuple(
    f.name
    for f in DailySummary._meta.concrete_fields
    if f.name not in {"id", "day", "built_at", "paying_customers"}
)
