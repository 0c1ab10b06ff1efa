"""Reads of a distributor's earnings; every balance comes from the ledger."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from core.money import ZERO
from distributors.models import Distributor

from .models import Commission, LedgerEntry, Withdrawal


@dataclass(frozen=True)
class EarningsSummary:
    pending: Decimal  # earned on orders not yet completed (or still frozen)
    available: Decimal  # may be withdrawn
    held: Decimal  # asked for in a withdrawal, not yet paid or returned
    withdrawn: Decimal  # paid out, fees included
    total: Decimal  # earned and not reversed: pending + available + held + withdrawn


def earnings_summary(distributor: Distributor) -> EarningsSummary:
    """Balances derived from the ledger entries, in one query."""
    reversed_q = Q(kind=LedgerEntry.Kind.REVERSED)
    sums = LedgerEntry.objects.filter(distributor=distributor).aggregate(
        pending_sum=Sum("pending"),
        available_sum=Sum("available"),
        held_sum=Sum("held"),
        paid_held=Sum("held", filter=Q(kind=LedgerEntry.Kind.WITHDRAWAL_PAID)),
        accrued_sum=Sum("pending", filter=Q(kind=LedgerEntry.Kind.ACCRUED)),
        reversed_pending=Sum("pending", filter=reversed_q),
        reversed_available=Sum("available", filter=reversed_q),
    )
    total = (
        (sums["accrued_sum"] or ZERO)
        + (sums["reversed_pending"] or ZERO)
        + (sums["reversed_available"] or ZERO)
    )
    return EarningsSummary(
        pending=sums["pending_sum"] or ZERO,
        available=sums["available_sum"] or ZERO,
        held=sums["held_sum"] or ZERO,
        withdrawn=ZERO - (sums["paid_held"] or ZERO),
        total=total,
    )


def commissions_of(distributor: Distributor) -> QuerySet[Commission]:
    return Commission.objects.filter(distributor=distributor).select_related("order")


def commission_of(distributor: Distributor, pk: int) -> Commission:
    """One commission, only if it is this distributor's (404 otherwise)."""
    return get_object_or_404(
        Commission.objects.select_related("order", "plan").prefetch_related("entries"),
        pk=pk,
        distributor=distributor,
    )


def withdrawals_of(distributor: Distributor) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(distributor=distributor)


def withdrawal_of(distributor: Distributor, pk: int) -> Withdrawal:
    """One withdrawal, only if it is this distributor's (404 otherwise)."""
    return get_object_or_404(
        Withdrawal.objects.prefetch_related("entries"), pk=pk, distributor=distributor
    )
