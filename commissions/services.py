"""Commission accrual, release and reversal, and the ledger entries they write.

Invariants kept here: one commission per order and level (unique constraint,
and the order row is locked while accruing); the sum of an order's
commissions never exceeds the plan's cap; nothing is deleted, a reversal is a
new ledger entry.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.money import ZERO, to_cents
from distributors.models import Distributor
from orders.models import Order

from .models import Commission, CommissionPlan, LedgerEntry


def active_plan() -> CommissionPlan | None:
    return CommissionPlan.objects.filter(is_active=True).first()


@transaction.atomic
def activate_plan(plan: CommissionPlan) -> CommissionPlan:
    """Make `plan` the one active plan (after validating it); orders paid from
    now on accrue under it, commissions already accrued keep the plan they name."""
    plan.full_clean()
    CommissionPlan.objects.select_for_update().filter(is_active=True).exclude(pk=plan.pk).update(
        is_active=False
    )
    plan.is_active = True
    plan.save(update_fields=["is_active"])
    return plan


def split_commission(base: Decimal, rates: list[Decimal], cap: Decimal) -> list[Decimal]:
    """The amount of each level, rounded down to the fen, never above the cap.

    If the levels together would pay more than base × cap, the deepest levels
    give way first: the distributor who made the sale is paid before recruiters.
    """
    remaining = to_cents(base * cap)
    amounts = []
    for rate in rates:
        amount = min(to_cents(base * rate), remaining)
        amounts.append(amount)
        remaining -= amount
    return amounts


def schedule_accrual(order: Order) -> None:
    """Enqueue accrual for `order` once the current transaction commits."""
    from .tasks import accrue_commissions_task

    transaction.on_commit(lambda: accrue_commissions_task.delay(order.pk))


def schedule_release(order: Order) -> None:
    from .tasks import release_order_commissions_task

    transaction.on_commit(lambda: release_order_commissions_task.delay(order.pk))


@transaction.atomic
def accrue_commissions(order_id: int) -> list[Commission]:
    """Create the pending commissions of a paid order, once.

    Idempotent: locks the order row, and returns what exists if accrual ran
    before (the unique (order, level) constraint backs this up). An order
    refunded or cancelled before the task ran accrues nothing. Suspended
    distributors' levels are skipped, not compressed.
    """
    order = Order.objects.select_for_update().get(pk=order_id)
    existing = list(order.commissions.all())
    if existing or order.status not in Order.PAID_STATUSES or not order.referral_chain:
        return existing
    plan = active_plan()
    if plan is None:
        return []
    chain = order.referral_chain[: plan.levels]
    active = set(
        Distributor.objects.filter(pk__in=chain, status=Distributor.Status.ACTIVE).values_list(
            "pk", flat=True
        )
    )
    base = order.subtotal
    rates = plan.rates()[: len(chain)]
    commissions = [
        Commission(
            order=order,
            distributor_id=distributor_id,
            plan=plan,
            level=level,
            base=base,
            rate=rate,
            amount=amount,
        )
        for level, (distributor_id, rate, amount) in enumerate(
            zip(chain, rates, split_commission(base, rates, plan.payout_cap), strict=True), start=1
        )
        if distributor_id in active and amount > ZERO
    ]
    Commission.objects.bulk_create(commissions)
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            distributor_id=c.distributor_id,
            commission=c,
            kind=LedgerEntry.Kind.ACCRUED,
            pending=c.amount,
            available=ZERO,
            note=order.number,
        )
        for c in commissions
    )
    return commissions


@transaction.atomic
def release_order_commissions(order_id: int, *, now: datetime | None = None) -> int:
    """Make the pending commissions of a completed order available, once.

    Each commission waits for the freeze period (冻结期) of the plan it was
    accrued under, counted from completion; before that it stays pending and
    the beat task tries again later. Returns how many it released.
    """
    now = now or timezone.now()
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status != Order.Status.COMPLETED:
        return 0
    released = 0
    pending = order.commissions.filter(status=Commission.Status.PENDING).select_related("plan")
    for commission in pending.order_by("pk"):
        if order.completed_at + timedelta(days=commission.plan.freeze_days) > now:
            continue
        claimed = Commission.objects.filter(
            pk=commission.pk, status=Commission.Status.PENDING
        ).update(status=Commission.Status.AVAILABLE, released_at=now)
        if claimed:
            LedgerEntry.objects.create(
                distributor_id=commission.distributor_id,
                commission=commission,
                kind=LedgerEntry.Kind.RELEASED,
                pending=-commission.amount,
                available=commission.amount,
                note=order.number,
            )
            released += 1
    return released


def release_due_commissions(*, now: datetime | None = None) -> int:
    """Release every completed order's pending commissions whose freeze has passed."""
    now = now or timezone.now()
    due = (
        Order.objects.filter(
            status=Order.Status.COMPLETED, commissions__status=Commission.Status.PENDING
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    return sum(release_order_commissions(pk, now=now) for pk in list(due))


def reverse_order_commissions(order: Order, *, reason: str) -> int:
    """Reverse every commission of an order by new ledger entries.

    The caller holds the order's row lock (orders.services). Whatever was
    pending or available is taken back; the commissions stay, marked reversed.
    """
    now = timezone.now()
    reversed_count = 0
    for commission in order.commissions.exclude(status=Commission.Status.REVERSED).order_by("pk"):
        was_available = commission.status == Commission.Status.AVAILABLE
        claimed = Commission.objects.filter(pk=commission.pk, status=commission.status).update(
            status=Commission.Status.REVERSED, reversed_at=now
        )
        if not claimed:
            continue
        LedgerEntry.objects.create(
            distributor_id=commission.distributor_id,
            commission=commission,
            kind=LedgerEntry.Kind.REVERSED,
            pending=ZERO if was_available else -commission.amount,
            available=-commission.amount if was_available else ZERO,
            note=f"{order.number} {reason}"[:255],
        )
        reversed_count += 1
    return reversed_count
