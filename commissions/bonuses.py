"""Bonuses (奖励金): money a distributor earns beside commissions, through the ledger.

A recruitment reward (拉新奖励) is pending until its order completes and the
freeze passes, and is reversed if that order is refunded in full; a contest's
cash prize is available at once. Each has its own ledger entry kinds; nothing
is deleted, a reversal is a new entry. Who earns a reward, and when, is
marketing.rewards' business; this module only writes the money.

Every move of a bonus claims it with a conditional update of its status
(PENDING -> AVAILABLE, PENDING or AVAILABLE -> REVERSED) and writes its entry
only when the claim changed a row, so a retried release or reversal changes
nothing; the unique (bonus, kind) constraint backs this up.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.money import ZERO, to_cents

from .models import Bonus, CommissionPlan, LedgerEntry


@transaction.atomic
def pay_prize(distributor_id: int, amount: Decimal, *, note: str = "") -> Bonus:
    """Credit a contest's cash prize: available at once (one PRIZE_PAID entry)."""
    amount = to_cents(amount)
    if amount <= ZERO:
        raise ValueError("a prize is a positive amount")
    now = timezone.now()
    bonus = Bonus.objects.create(
        distributor_id=distributor_id,
        kind=Bonus.Kind.CONTEST_PRIZE,
        amount=amount,
        status=Bonus.Status.AVAILABLE,
        note=note[:255],
        created_at=now,
        released_at=now,
    )
    LedgerEntry.objects.create(
        distributor_id=distributor_id,
        bonus=bonus,
        kind=LedgerEntry.Kind.PRIZE_PAID,
        pending=ZERO,
        available=amount,
        note=note[:255],
    )
    return bonus


@transaction.atomic
def accrue_recruitment_reward(
    distributor_id: int, *, order, amount: Decimal, now: datetime | None = None
) -> Bonus | None:
    """Credit a pending recruitment reward for `order`'s customer (one REWARD_ACCRUED entry).

    Once per customer, ever: a customer who already earned someone a reward
    (also one committed by a concurrent transaction meanwhile: the unique
    constraint decides, in a savepoint) gives None and changes nothing.
    """
    amount = to_cents(amount)
    if amount <= ZERO:
        raise ValueError("a reward is a positive amount")
    try:
        with transaction.atomic():
            bonus = Bonus.objects.create(
                distributor_id=distributor_id,
                kind=Bonus.Kind.RECRUITMENT,
                amount=amount,
                customer_id=order.user_id,
                order=order,
                note=order.number,
                created_at=now or timezone.now(),
            )
    except IntegrityError:
        return None
    LedgerEntry.objects.create(
        distributor_id=distributor_id,
        bonus=bonus,
        kind=LedgerEntry.Kind.REWARD_ACCRUED,
        pending=amount,
        available=ZERO,
        note=order.number,
    )
    return bonus


def freeze_days_of(order) -> int:
    """The freeze period (冻结期) of `order`'s rewards: its plan's, as for its commissions."""
    plan = order.commission_plan or CommissionPlan.objects.filter(is_active=True).first()
    return plan.freeze_days if plan else 0


def release_order_rewards(order, *, now: datetime | None = None) -> int:
    """Make the pending rewards of a completed order available once its freeze has passed.

    The caller holds the order's row lock and has checked it is COMPLETED
    (commissions.services.release_order_commissions). Idempotent: each bonus is
    claimed by a conditional update before its REWARD_RELEASED entry is
    written. Returns how many it released.
    """
    now = now or timezone.now()
    pending = list(order.bonuses.filter(status=Bonus.Status.PENDING).order_by("pk"))
    if not pending or order.completed_at + timedelta(days=freeze_days_of(order)) > now:
        return 0
    released = 0
    for bonus in pending:
        claimed = Bonus.objects.filter(pk=bonus.pk, status=Bonus.Status.PENDING).update(
            status=Bonus.Status.AVAILABLE, released_at=now
        )
        if claimed:
            LedgerEntry.objects.create(
                distributor_id=bonus.distributor_id,
                bonus=bonus,
                kind=LedgerEntry.Kind.REWARD_RELEASED,
                pending=-bonus.amount,
                available=bonus.amount,
                note=order.number,
            )
            released += 1
    return released


def reverse_order_rewards(order, *, reason: str) -> int:
    """Take back the rewards of `order` (refunded in full) by new REWARD_REVERSED entries.

    A reward still pending is taken from pending, a released one from
    available, as commission reversals do: if that money was withdrawn
    meanwhile the available balance goes below zero, and no withdrawal can be
    requested until new earnings cover it (commissions.withdrawals refuses
    more than is available). Idempotent: each bonus is claimed by a conditional
    update before its entry is written. The caller holds the order's row lock.
    Returns how many it reversed.
    """
    now = timezone.now()
    reversed_count = 0
    live = (Bonus.Status.PENDING, Bonus.Status.AVAILABLE)
    for bonus in order.bonuses.filter(status__in=live).order_by("pk"):
        claimed = Bonus.objects.filter(pk=bonus.pk, status=bonus.status).update(
            status=Bonus.Status.REVERSED, reversed_at=now
        )
        if not claimed:
            continue
        from_pending = bonus.status == Bonus.Status.PENDING
        LedgerEntry.objects.create(
            distributor_id=bonus.distributor_id,
            bonus=bonus,
            kind=LedgerEntry.Kind.REWARD_REVERSED,
            pending=-bonus.amount if from_pending else ZERO,
            available=ZERO if from_pending else -bonus.amount,
            note=f"{order.number} {reason}"[:255],
        )
        reversed_count += 1
    return reversed_count
