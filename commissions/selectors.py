"""Reads of a distributor's earnings; every balance comes from the ledger."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from core.money import ZERO
from distributors.models import Distributor

from .models import Bonus, Commission, LedgerEntry, Withdrawal


@dataclass(frozen=True)
class EarningsSummary:
    pending: Decimal  # earned on orders not yet completed (or still frozen)
    available: Decimal  # may be withdrawn
    held: Decimal  # asked for in a withdrawal, not yet paid or returned
    withdrawn: Decimal  # paid out, fees included
    total: Decimal  # earned and not reversed: pending + available + held + withdrawn
    bonuses: Decimal = ZERO  # of the total, rewards and prizes (奖励金) not reversed


# The entries that earn or take back money; the others move it between balances.
_COMMISSION_EARNING = (LedgerEntry.Kind.ACCRUED, LedgerEntry.Kind.REVERSED)
_BONUS_EARNING = (
    LedgerEntry.Kind.REWARD_ACCRUED,
    LedgerEntry.Kind.REWARD_REVERSED,
    LedgerEntry.Kind.PRIZE_PAID,
)


def earnings_summary(distributor: Distributor) -> EarningsSummary:
    """Balances from the ledger entries (commissions, bonuses, withdrawals), in one query."""
    commission_q = Q(kind__in=_COMMISSION_EARNING)
    bonus_q = Q(kind__in=_BONUS_EARNING)
    sums = LedgerEntry.objects.filter(distributor=distributor).aggregate(
        pending_sum=Sum("pending"),
        available_sum=Sum("available"),
        held_sum=Sum("held"),
        paid_held=Sum("held", filter=Q(kind=LedgerEntry.Kind.WITHDRAWAL_PAID)),
        commission_pending=Sum("pending", filter=commission_q),
        commission_available=Sum("available", filter=commission_q),
        bonus_pending=Sum("pending", filter=bonus_q),
        bonus_available=Sum("available", filter=bonus_q),
    )
    commissions = (sums["commission_pending"] or ZERO) + (sums["commission_available"] or ZERO)
    bonuses = (sums["bonus_pending"] or ZERO) + (sums["bonus_available"] or ZERO)
    return EarningsSummary(
        pending=sums["pending_sum"] or ZERO,
        available=sums["available_sum"] or ZERO,
        held=sums["held_sum"] or ZERO,
        withdrawn=ZERO - (sums["paid_held"] or ZERO),
        total=commissions + bonuses,
        bonuses=bonuses,
    )


def commissions_of(distributor: Distributor) -> QuerySet[Commission]:
    return Commission.objects.filter(distributor=distributor).select_related("order")


def bonuses_of(distributor: Distributor) -> QuerySet[Bonus]:
    """The distributor's recruitment rewards and contest prizes, newest first."""
    return Bonus.objects.filter(distributor=distributor).select_related("order")


def commission_of(distributor: Distributor, pk: int) -> Commission:
    """One commission, only if it is this distributor's (404 otherwise)."""
    return get_object_or_404(
        Commission.objects.select_related("order", "plan").prefetch_related("entries"),
        pk=pk,
        distributor=distributor,
    )


@dataclass(frozen=True)
class PlanPreview:
    """What a plan version would have paid on recent orders, beside the active one."""

    days: int
    orders: int
    active_total: Decimal
    draft_total: Decimal
    per_level: list[tuple[int, Decimal, Decimal]]  # (level, active, draft)
    changes: list[tuple[str, Decimal, Decimal]]  # (distributor, active, draft), biggest first


def preview_plan(draft, *, days: int = 30, now=None, top: int = 10) -> PlanPreview:
    """Run `draft` and the active plan over the orders paid in the last `days`.

    Nothing is written. A handful of queries whatever the number of orders:
    the orders, the distributors of their chains, and their lines when a plan
    has product or category rules.
    """
    from datetime import timedelta

    from django.utils import timezone

    from orders.models import Order

    from .rules import rules_for
    from .services import active_plan, compute_commissions, lines_of

    now = now or timezone.now()
    orders = list(
        Order.objects.filter(
            status__in=Order.PAID_STATUSES, paid_at__gte=now - timedelta(days=days)
        )
        .exclude(referral_chain=[])
        .values_list("pk", "subtotal", "referral_chain")
    )
    member_ids = {pk for _o, _s, chain in orders for pk in chain}
    members = {
        pk: (status, grade)
        for pk, status, grade in Distributor.objects.filter(pk__in=member_ids).values_list(
            "pk", "status", "grade_id"
        )
    }
    current = active_plan()
    plans = {"active": rules_for(current) if current else None, "draft": rules_for(draft)}
    order_ids = [pk for pk, _s, _c in orders]
    lines = {name: lines_of(order_ids, rules) if rules else {} for name, rules in plans.items()}
    totals = {name: defaultdict(lambda: ZERO) for name in plans}
    per_distributor = {name: defaultdict(lambda: ZERO) for name in plans}
    for pk, subtotal, chain in orders:
        for name, rules in plans.items():
            if rules is None:
                continue
            for level, distributor_id, amount, _rule in compute_commissions(
                rules, chain, members, subtotal, lines[name].get(pk, [])
            ):
                totals[name][level] += amount
                per_distributor[name][distributor_id] += amount
    changed = sorted(
        set(per_distributor["active"]) | set(per_distributor["draft"]),
        key=lambda d: abs(per_distributor["draft"][d] - per_distributor["active"][d]),
        reverse=True,
    )[:top]
    names = dict(Distributor.objects.filter(pk__in=changed).values_list("pk", "user__username"))
    return PlanPreview(
        days=days,
        orders=len(orders),
        active_total=sum(totals["active"].values(), ZERO),
        draft_total=sum(totals["draft"].values(), ZERO),
        per_level=[(level, totals["active"][level], totals["draft"][level]) for level in (1, 2, 3)],
        changes=[
            (names.get(d, str(d)), per_distributor["active"][d], per_distributor["draft"][d])
            for d in changed
            if per_distributor["active"][d] != per_distributor["draft"][d]
        ],
    )


def withdrawals_of(distributor: Distributor) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(distributor=distributor)


def withdrawal_of(distributor: Distributor, pk: int) -> Withdrawal:
    """One withdrawal, only if it is this distributor's (404 otherwise)."""
    return get_object_or_404(
        Withdrawal.objects.prefetch_related("entries"), pk=pk, distributor=distributor
    )


def payout_acceptance(withdrawal) -> dict | None:
    """What the distributor's WeChat needs to accept a transfer waiting for them, if any.

    WeChat Pay's merchant transfer (商家转账) reaches the payee only once they
    confirm it in WeChat (requestMerchantTransfer with this package).
    """
    from django.conf import settings

    from payments.models import Transfer

    if withdrawal.status != withdrawal.Status.PAYING or withdrawal.method != "wechat":
        return None
    transfer = Transfer.objects.filter(
        bill_no=withdrawal.payout_bill_no, status=Transfer.Status.WAITING_CONFIRMATION
    ).first()
    if transfer is None or not transfer.confirmation:
        return None
    return {
        "mchId": settings.WECHATPAY_MCHID,
        "appId": settings.WECHATPAY_APPID,
        "package": transfer.confirmation,
    }
