"""Commission plans, accrual, release and reversal, and the ledger entries they write.

Accrual itself (paid orders to pending commissions, in batches) lives in
commissions.accrual; its entry points are imported here, so the app's
services stay one place to call. Invariants kept here: one commission per
order and level (unique constraint, and the order row is locked while
accruing); the sum of an order's commissions never exceeds the plan's cap;
nothing is deleted, a reversal is a new ledger entry.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from core import outbox
from core.money import ZERO
from distributors.models import Distributor
from notifications.models import Kind
from notifications.services import notify
from orders.models import Order

from . import bonuses
from .accrual import (  # noqa: F401 - accrual's entry points, called as services
    accrue_commissions,
    accrue_missing_commissions,
    accrue_orders,
    active_plan,
    compute_commissions,
    lines_of,
    schedule_accrual,
)
from .models import (
    Bonus,
    Commission,
    CommissionOverride,
    CommissionPlan,
    GradeRate,
    LedgerEntry,
    SelfPurchaseRule,
)
from .rules import capped_amounts, reversal_target, rules_for  # noqa: F401 - rules_for: a service too


def own_order_credits_recruiter(plan: CommissionPlan | None) -> bool:
    """Whether a distributor's own order, under `plan` without self-purchase
    commission, is credited to their recruiter as a customer's would be."""
    return plan is not None and plan.self_purchase_rule == SelfPurchaseRule.RECRUITER_CHAIN


@transaction.atomic
def activate_plan(plan: CommissionPlan) -> CommissionPlan:
    """Make `plan` the one active version and freeze it for good.

    Orders paid from now on accrue under it; commissions already accrued keep
    the version they name.
    """
    plan.full_clean()
    CommissionPlan.objects.select_for_update().filter(is_active=True).exclude(pk=plan.pk).update(
        is_active=False
    )
    CommissionPlan.objects.filter(pk=plan.pk).update(is_active=True, is_frozen=True)
    plan.refresh_from_db()
    return plan


@transaction.atomic
def new_version(plan: CommissionPlan) -> CommissionPlan:
    """A draft copy of `plan` (rates, grade rates, overrides) to edit and activate."""
    grade_rates = list(plan.grade_rates.all())
    overrides = list(plan.overrides.all())
    latest = CommissionPlan.objects.filter(name=plan.name).order_by("-version").first()
    draft = CommissionPlan.objects.get(pk=plan.pk)
    draft.pk = None
    draft.previous = plan
    draft.version = (latest.version if latest else plan.version) + 1
    draft.is_active = draft.is_frozen = False
    draft.save()
    for row in (*grade_rates, *overrides):
        row.pk, row.plan = None, draft
    GradeRate.objects.bulk_create(grade_rates)
    CommissionOverride.objects.bulk_create(overrides)
    return draft


def split_commission(base: Decimal, rates: list[Decimal], cap: Decimal) -> list[Decimal]:
    """The amount of each level at flat rates, rounded down, never above the cap."""
    return capped_amounts([base * rate for rate in rates], base, cap)


def schedule_release(order: Order) -> None:
    from .tasks import release_order_commissions_task

    outbox.enqueue(release_order_commissions_task, order.pk)


CHAIN_REACH = 10  # ancestors kept on an order: enough for compression to fill 3 levels


def tell_earners(order: Order, commissions: list[Commission], kind: str) -> None:
    """Tell each distributor of `commissions` (of `order`) what they earned on it: one
    message per distributor and order, whatever their number of commissions (key
    order:<id>:<kind>). In the caller's transaction; one query for the earners."""
    earned: dict[int, list[Commission]] = {}
    for commission in commissions:
        earned.setdefault(commission.distributor_id, []).append(commission)
    earners = Distributor.objects.filter(pk__in=earned).select_related(
        "user__notification_settings"
    )
    for distributor in sorted(earners, key=lambda d: d.pk):
        mine = earned[distributor.pk]
        amount = sum((c.net_amount for c in mine), ZERO)
        notify(
            distributor.user,
            kind,
            key=f"order:{order.pk}:{kind}",
            context={"order": order, "amount": amount, "commissions": mine},
            link=mine[0].get_absolute_url() if len(mine) == 1 else reverse("commissions:earnings"),
            data={"order": order.pk, "commissions": [c.pk for c in mine]},
        )


@transaction.atomic
def release_order_commissions(order_id: int, *, now: datetime | None = None) -> int:
    """Make the pending commissions and recruitment rewards of a completed order
    available, once.

    Each commission waits for the freeze period (冻结期) of the plan it was
    accrued under, counted from completion, and a reward for the freeze of the
    order's plan (commissions.bonuses.release_order_rewards); before that they
    stay pending and the beat task tries again later. Returns how many it
    released (commissions and rewards).
    """
    now = now or timezone.now()
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status != Order.Status.COMPLETED:
        return 0
    released: list[Commission] = []
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
                pending=-commission.net_amount,
                available=commission.net_amount,
                note=order.number,
            )
            released.append(commission)
    if released:
        tell_earners(order, released, Kind.COMMISSION_RELEASED)
    return len(released) + bonuses.release_order_rewards(order, now=now)


def release_due_commissions(*, now: datetime | None = None) -> int:
    """Release every completed order's pending commissions and rewards whose freeze has passed."""
    now = now or timezone.now()
    pending_commission = Commission.objects.filter(
        order=OuterRef("pk"), status=Commission.Status.PENDING
    )
    pending_reward = Bonus.objects.filter(order=OuterRef("pk"), status=Bonus.Status.PENDING)
    due = Order.objects.filter(
        Exists(pending_commission) | Exists(pending_reward), status=Order.Status.COMPLETED
    ).values_list("pk", flat=True)
    return sum(release_order_commissions(pk, now=now) for pk in list(due))


def reverse_order_commissions(order: Order, *, reason: str, refunded: Decimal | None = None) -> int:
    """Take back commissions of an order whose goods were refunded, by new entries.

    `refunded` is the goods amount refunded so far in total (None: all of it).
    Each commission is reversed in proportion: what it keeps is its amount times
    the share of the goods kept, rounded down to the fen, so the net never
    exceeds the rate times the goods kept; the reversal is the rest (cumulative,
    so partial refunds add up), and a full refund brings the order's net
    commission to exactly zero. Calling it again with the same
    total changes nothing. The caller holds the order's row lock.
    """
    if refunded is None:
        refunded = order.subtotal
    now = timezone.now()
    reversed_count = 0
    for commission in order.commissions.exclude(status=Commission.Status.REVERSED).order_by("pk"):
        target = reversal_target(commission.amount, refunded, order.subtotal)
        step = target - commission.reversed_amount
        if step <= ZERO:
            continue
        # A commission is wholly pending or wholly released: take it back from there.
        pending = commission.status == Commission.Status.PENDING
        from_pending, from_available = (step, ZERO) if pending else (ZERO, step)
        fully = target == commission.amount
        Commission.objects.filter(pk=commission.pk).update(
            reversed_amount=target,
            status=Commission.Status.REVERSED if fully else commission.status,
            reversed_at=now if fully else None,
        )
        LedgerEntry.objects.create(
            distributor_id=commission.distributor_id,
            commission=commission,
            kind=LedgerEntry.Kind.REVERSED,
            pending=-from_pending,
            available=-from_available,
            note=f"{order.number} {reason}"[:255],
        )
        reversed_count += 1
    return reversed_count
