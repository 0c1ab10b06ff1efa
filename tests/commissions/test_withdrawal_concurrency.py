"""Withdrawals under real concurrent connections (PostgreSQL): no overdraft, one review."""

from collections import Counter
from decimal import Decimal

import pytest

from commissions import withdrawals
from commissions.models import CommissionPlan, LedgerEntry, Withdrawal
from commissions.selectors import earnings_summary
from tests.commissions.helpers import withdraw
from tests.test_concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def running_balances(distributor, field):
    """The balance after each entry, in the order the entries were written."""
    balance, balances = Decimal("0.00"), []
    for change in (
        LedgerEntry.objects.filter(distributor=distributor)
        .order_by("pk")
        .values_list(field, flat=True)
    ):
        balance += change
        balances.append(balance)
    return balances


def test_twenty_concurrent_requests_never_overdraw(carol):
    # given: 100.00 available; each request of 30.00 fits alone, not all together
    CommissionPlan.objects.filter(is_active=True).update(min_withdrawal=Decimal("10.00"))
    assert earnings_summary(carol).available == Decimal("100.00")

    # when
    results = run_at_once(
        lambda n: withdraw(carol, "30.00", account_number=f"1380013800{n:02d}"),
        range(20),
    )

    # then
    outcomes = Counter(type(result).__name__ for result in results)
    assert outcomes == {"Withdrawal": 3, "InsufficientBalance": 17}, results
    summary = earnings_summary(carol)
    assert (summary.available, summary.held) == (Decimal("10.00"), Decimal("90.00"))
    assert min(running_balances(carol, "available")) >= 0
    assert Withdrawal.objects.filter(distributor=carol).count() == 3


def test_concurrent_approvals_and_rejections_close_a_withdrawal_once(carol, reviewer):
    withdrawal = withdraw(carol, "60.00")

    def review(n):
        if n % 2:
            return withdrawals.approve_withdrawal(
                Withdrawal.objects.get(pk=withdrawal.pk),
                reviewer=reviewer,
                payout_reference=f"ALI-{n}",
            )
        return withdrawals.reject_withdrawal(
            Withdrawal.objects.get(pk=withdrawal.pk), reviewer=reviewer, reason=f"reason {n}"
        )

    results = run_at_once(review, range(20))

    unexpected = [r for r in results if not isinstance(r, Withdrawal | withdrawals.AlreadyReviewed)]
    assert not unexpected, unexpected
    withdrawal.refresh_from_db()
    closing = LedgerEntry.objects.filter(withdrawal=withdrawal).exclude(kind="withdrawal_held")
    assert closing.count() == 1
    summary = earnings_summary(carol)
    if withdrawal.status == Withdrawal.Status.PAID:
        assert (summary.available, summary.held, summary.withdrawn) == (
            Decimal("40.00"),
            Decimal("0.00"),
            Decimal("60.00"),
        )
    else:
        assert (summary.available, summary.held) == (Decimal("100.00"), Decimal("0.00"))
