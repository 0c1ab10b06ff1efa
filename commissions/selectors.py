"""Reads of a distributor's earnings; every balance comes from the ledger."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from core.money import ZERO
from distributors.models import Distributor

from .models import Commission, LedgerEntry


@dataclass(frozen=True)
class EarningsSummary:
    pending: Decimal
    available: Decimal
    total: Decimal  # earned and not reversed: pending + available + (later) withdrawn


def earnings_summary(distributor: Distributor) -> EarningsSummary:
    """Balances derived from the ledger entries, in one query."""
    reversed_q = Q(kind=LedgerEntry.Kind.REVERSED)
    sums = LedgerEntry.objects.filter(distributor=distributor).aggregate(
        pending_sum=Sum("pending"),
        available_sum=Sum("available"),
        accrued_sum=Sum("pending", filter=Q(kind=LedgerEntry.Kind.ACCRUED)),
        reversed_pending=Sum("pending", filter=reversed_q),
        reversed_available=Sum("available", filter=reversed_q),
    )
    pending = sums["pending_sum"] or ZERO
    available = sums["available_sum"] or ZERO
    total = (
        (sums["accrued_sum"] or ZERO)
        + (sums["reversed_pending"] or ZERO)
        + (sums["reversed_available"] or ZERO)
    )
    return EarningsSummary(pending=pending, available=available, total=total)


def commissions_of(distributor: Distributor) -> QuerySet[Commission]:
    return Commission.objects.filter(distributor=distributor).select_related("order")


def commission_of(distributor: Distributor, pk: int) -> Commission:
    """One commission, only if it is this distributor's (404 otherwise)."""
    return get_object_or_404(
        Commission.objects.select_related("order", "plan").prefetch_related("entries"),
        pk=pk,
        distributor=distributor,
    )
