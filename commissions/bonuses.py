"""Bonuses (奖励金): money a distributor earns beside commissions, through the ledger.

A recruitment reward (拉新奖励) is pending until its order completes and the
freeze passes, and is reversed if that order is refunded in full; a contest's
cash prize is available at once. Each has its own ledger entry kinds; nothing
is deleted, a reversal is a new entry.
"""

from decimal import Decimal

from django.db import transaction

from core.money import ZERO, to_cents

from .models import Bonus, LedgerEntry


@transaction.atomic
def pay_prize(distributor_id: int, amount: Decimal, *, note: str = "") -> Bonus:
    """Credit a contest's cash prize: available at once (one PRIZE_PAID entry)."""
    amount = to_cents(amount)
    if amount <= ZERO:
        raise ValueError("a prize is a positive amount")
    bonus = Bonus.objects.create(
        distributor_id=distributor_id,
        kind=Bonus.Kind.CONTEST_PRIZE,
        amount=amount,
        status=Bonus.Status.AVAILABLE,
        note=note[:255],
    )
    bonus.released_at = bonus.created_at
    bonus.save(update_fields=["released_at"])
    LedgerEntry.objects.create(
        distributor_id=distributor_id,
        bonus=bonus,
        kind=LedgerEntry.Kind.PRIZE_PAID,
        pending=ZERO,
        available=amount,
        note=note[:255],
    )
    return bonus
