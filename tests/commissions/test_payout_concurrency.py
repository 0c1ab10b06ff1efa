"""Payout races on PostgreSQL, with real threads and their own connections."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from commissions import withdrawals
from commissions.models import LedgerEntry, PayoutSettings, Withdrawal
from commissions.selectors import earnings_summary
from tests.test_concurrency import run_at_once

from .helpers import withdraw

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def automatic(fake_alipay):
    PayoutSettings.objects.update_or_create(pk=1, defaults={"alipay_automatic": True})
    fake_alipay.accounts["13800138000"] = "陈小红"
    return fake_alipay


def test_an_automatic_payout_approved_by_two_staff_at_the_same_moment_pays_once(carol, automatic):
    # given: a withdrawal, and two finance staff looking at it
    withdrawal = withdraw(carol, "60.00")
    staff = [
        get_user_model().objects.create_user(name, is_staff=True, is_superuser=True)
        for name in ("finance-a", "finance-b")
    ]

    # when: both approve it at once (each transfer task runs on commit, in its thread)
    results = run_at_once(
        lambda reviewer: withdrawals.start_payout(withdrawal, reviewer=reviewer), staff
    )

    # then
    assert not [r for r in results if isinstance(r, Exception)], results
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID
    assert len(automatic.transfers) == 1
    assert Decimal(automatic.transfers[withdrawal.payout_bill_no]["trans_amount"]) == (
        withdrawal.net_amount
    )
    assert (
        LedgerEntry.objects.filter(
            withdrawal=withdrawal, kind=LedgerEntry.Kind.WITHDRAWAL_PAID
        ).count()
        == 1
    )
    assert earnings_summary(carol).available == Decimal("40.00")


def test_a_payout_task_delivered_twice_at_once_pays_once(carol, reviewer, automatic):
    # given: an approved withdrawal whose transfer task the broker hands to two workers
    withdrawal = withdraw(carol, "60.00")
    Withdrawal.objects.filter(pk=withdrawal.pk).update(
        status=Withdrawal.Status.PAYING, reviewer=reviewer, reviewed_at=withdrawal.created_at
    )

    # when
    results = run_at_once(lambda _: withdrawals.pay_out(withdrawal.pk), range(2))

    # then: one transfer at Alipay, one ledger entry
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(automatic.calls_of("alipay.fund.trans.uni.transfer")) <= 2
    assert len(automatic.transfers) == 1
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID
    assert (
        LedgerEntry.objects.filter(
            withdrawal=withdrawal, kind=LedgerEntry.Kind.WITHDRAWAL_PAID
        ).count()
        == 1
    )
