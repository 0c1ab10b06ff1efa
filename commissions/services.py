"""Commission accrual, release and reversal, and the ledger entries they write.

Invariants kept here: one commission per order and level (unique constraint,
and the order row is locked while accruing); the sum of an order's
commissions never exceeds the plan's cap; nothing is deleted, a reversal is a
new ledger entry.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from catalog.models import Category
from core import outbox
from core.money import ZERO
from distributors.models import Distributor
from notifications.models import Kind
from notifications.services import notify
from orders.models import Order, OrderLine

from . import bonuses
from .models import (
    Accrual,
    Bonus,
    Commission,
    CommissionOverride,
    CommissionPlan,
    GradeRate,
    LedgerEntry,
    SelfPurchaseRule,
)
from .rules import (
    Line,
    PlanRules,
    capped_amounts,
    level_amount,
    reversal_target,
    rules_for,
)


def active_plan() -> CommissionPlan | None:
    return CommissionPlan.objects.filter(is_active=True).first()


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


def schedule_accrual(order: Order) -> None:
    """Enqueue accrual for `order` once the current transaction commits."""
    from .tasks import accrue_commissions_task

    outbox.enqueue(accrue_commissions_task, order.pk)


def schedule_release(order: Order) -> None:
    from .tasks import release_order_commissions_task

    outbox.enqueue(release_order_commissions_task, order.pk)


CHAIN_REACH = 10  # ancestors kept on an order: enough for compression to fill 3 levels


def _earners(rules: PlanRules, chain: list[int], members: dict[int, tuple[str, int | None]]):
    """(level, distributor id, grade id) of each level that earns.

    Without compression an ineligible (suspended) ancestor's level is simply not
    paid; with it, the next eligible ancestor up the chain takes the level.
    """
    eligible = [(pk, members[pk][1]) for pk in chain if members.get(pk, ("", None))[0] == "active"]
    if rules.compresses:
        return [(level, pk, grade) for level, (pk, grade) in enumerate(eligible[: rules.levels], 1)]
    eligible_ids = dict(eligible)
    return [
        (level, pk, eligible_ids[pk])
        for level, pk in enumerate(chain[: rules.levels], 1)
        if pk in eligible_ids
    ]


def lines_of(order_ids: list[int], rules: PlanRules) -> dict[int, list[Line]]:
    """The orders' paid lines (one query), each with the deepest overridden category
    above its product; nothing when the plan has no overrides (none needed)."""
    if not rules.has_overrides or not order_ids:
        return {}
    # A line's commission base is what was paid for it; a gift (paid 0.00) earns nothing,
    # not even a fixed amount per unit.
    lines = OrderLine.objects.filter(order_id__in=order_ids, is_gift=False).values(
        "order_id", "paid_amount", "quantity", product_id=F("variant__product_id")
    )
    if rules.override_category_ids:
        category = Category.objects.filter(
            pk__in=rules.override_category_ids,
            tree_id=OuterRef("variant__product__category__tree_id"),
            lft__lte=OuterRef("variant__product__category__lft"),
            rght__gte=OuterRef("variant__product__category__rght"),
        ).order_by("-lft")
        lines = lines.annotate(override_category_id=Subquery(category.values("pk")[:1]))
    by_order: dict[int, list[Line]] = {}
    for row in lines:
        by_order.setdefault(row["order_id"], []).append(
            Line(
                row["paid_amount"],
                row["quantity"],
                row["product_id"],
                row.get("override_category_id"),
            )
        )
    return by_order


def compute_commissions(
    rules: PlanRules,
    chain: list[int],
    members: dict[int, tuple[str, int | None]],
    base: Decimal,
    lines: list[Line],
) -> list[tuple[int, int, Decimal, str]]:
    """(level, distributor id, amount, rule) that an order earns under `rules`.

    Pure: no query. `members` maps distributor ids of the chain to (status,
    grade id). Amounts are rounded down and capped; zero amounts are left out.
    """
    earners = _earners(rules, chain, members)
    computed = [level_amount(rules, level, grade, base, lines) for level, _pk, grade in earners]
    amounts = capped_amounts([raw for raw, _rule in computed], base, rules.payout_cap)
    return [
        (level, pk, amount, rule[:255])
        for (level, pk, _grade), amount, (_raw, rule) in zip(
            earners, amounts, computed, strict=True
        )
        if amount > ZERO
    ]


@transaction.atomic
def accrue_commissions(order_id: int) -> list[Commission]:
    """Create the pending commissions of a paid order, once, and tell each earner.

    At most 6 queries, then 1 for the earners and 7 for each one's notification.

    Idempotent: locks the order row, and does nothing if accrual ran before.
    Every run on a paid order leaves an Accrual record with its outcome (also
    when nobody earned), in the same transaction as the commissions, so that
    nothing accrues the order again later (the one-to-one record and the
    unique (order, level) constraint back this up). An order refunded or
    cancelled before the task ran accrues nothing and is not recorded. Uses the
    plan version the order records (stamped when it was placed, the one that
    also decided who is credited).
    """
    order = (
        Order.objects.select_for_update(of=("self",))
        .annotate(accrued=Exists(Accrual.objects.filter(order=OuterRef("pk"))))
        .get(pk=order_id)
    )
    if order.accrued:
        return list(order.commissions.all())
    if order.status not in Order.PAID_STATUSES:
        return []
    plan_id = order.commission_plan_id or getattr(active_plan(), "pk", None)
    if not order.referral_chain or plan_id is None:
        outcome = Accrual.Outcome.NO_CHAIN if not order.referral_chain else Accrual.Outcome.NO_PLAN
        Accrual.objects.create(order=order, plan_id=plan_id, outcome=outcome)
        return []
    rules = rules_for(plan_id)
    members = {
        pk: (status, grade)
        for pk, status, grade in Distributor.objects.filter(
            pk__in=order.referral_chain
        ).values_list("pk", "status", "grade_id")
    }
    base = order.subtotal
    commissions = [
        Commission(
            order=order,
            distributor_id=pk,
            plan_id=plan_id,
            level=level,
            base=base,
            rate=(amount / base).quantize(Decimal("0.0001")) if base else ZERO,
            amount=amount,
            rule=rule,
        )
        for level, pk, amount, rule in compute_commissions(
            rules,
            order.referral_chain,
            members,
            base,
            lines_of([order.pk], rules).get(order.pk, []),
        )
    ]
    if commissions:
        outcome = Accrual.Outcome.CREDITED
    elif _earners(rules, order.referral_chain, members):
        outcome = Accrual.Outcome.NOTHING_EARNED
    else:
        outcome = Accrual.Outcome.NO_ELIGIBLE_EARNER
    Accrual.objects.create(order=order, plan_id=plan_id, earners=len(commissions), outcome=outcome)
    if not commissions:
        return []
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
    tell_earners(order, commissions, Kind.COMMISSION_ACCRUED)
    return commissions


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


# The sweep looks this far back for paid orders whose accrual never ran, and
# leaves alone the ones paid in the last minutes (their task is on its way).
SWEEP_WINDOW = timedelta(days=3)
SWEEP_GRACE = timedelta(minutes=5)


def accrue_missing_commissions(*, now: datetime | None = None) -> int:
    """Accrue paid orders with a referral chain whose accrual never ran (no Accrual record).

    The safety net for an accrual task that was never sent (the broker was down
    when the order was paid, so the on-commit send was lost). An order whose
    accrual ran and rightly paid nobody (its earners were suspended when the
    money arrived) has a record and is never picked up, so a reactivation later
    cannot earn on it. Returns how many orders it accrued.
    """
    now = now or timezone.now()
    missing = list(
        Order.objects.filter(
            status__in=Order.PAID_STATUSES,
            paid_at__gte=now - SWEEP_WINDOW,
            paid_at__lte=now - SWEEP_GRACE,
        )
        .exclude(referral_chain=[])
        .filter(~Exists(Accrual.objects.filter(order=OuterRef("pk"))))
        .values_list("pk", flat=True)
    )
    for pk in missing:
        accrue_commissions(pk)
    return len(missing)


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
