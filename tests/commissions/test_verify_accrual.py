"""verify_ledger also finds money that should have moved and did not: a paid, referred
order never accrued, and an approved withdrawal whose payout was never sent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from commissions import services
from commissions.models import Withdrawal
from orders import services as order_services
from orders.models import Order
from payments.models import Transfer
from tests.commissions.helpers import withdraw
from tests.commissions.test_verify_ledger import raw_sql, verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_order(chain, shopper, make_variant, address):
    """Paid an hour ago through carol's link; whether it accrued is up to the test."""
    order = order_services.place_order(
        shopper,
        [(make_variant(price="100.00").pk, 1)],
        address=address,
        referral_code=chain[2].invite_code,
    )
    order = order_services.mark_paid(order)
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(hours=1))
    return order


def test_a_paid_referred_order_that_never_accrued_fails_the_check(paid_order):
    code, out, _ = verify()

    assert code == 1
    assert f"order {paid_order.number}" in out and "never accrued" in out


def test_an_order_whose_accrual_rightly_paid_nobody_passes(paid_order, chain, admin_user):
    from distributors import network

    for member in chain:
        network.suspend_distributor(member, actor=admin_user)
    assert services.accrue_commissions(paid_order.pk) == []

    code, out, _ = verify()

    assert (code, out.startswith("ledger consistent")) == (0, True), out


def test_an_order_paid_a_moment_ago_is_not_yet_a_problem(paid_order):
    Order.objects.filter(pk=paid_order.pk).update(paid_at=timezone.now())

    code, out, _ = verify()

    assert code == 0, out


def approved_long_ago(withdrawal, reviewer, *, minutes=60):
    """Approved for the gateway's transfer, as start_payout does, `minutes` ago."""
    raw_sql(
        "UPDATE commissions_withdrawal SET status = 'paying', reviewer_id = %s,"
        " reviewed_at = %s WHERE id = %s",
        [reviewer.pk, timezone.now() - timedelta(minutes=minutes), withdrawal.pk],
    )


def test_an_approved_withdrawal_whose_payout_was_never_sent_fails_the_check(carol, reviewer):
    withdrawal = withdraw(carol, "60.00")
    approved_long_ago(withdrawal, reviewer)

    code, out, _ = verify()

    assert code == 1
    assert f"withdrawal #{withdrawal.pk} (paying)" in out and "payout" in out


def test_an_approved_withdrawal_being_paid_passes(carol, reviewer):
    withdrawal = withdraw(carol, "60.00")
    approved_long_ago(withdrawal, reviewer)
    Transfer.objects.create(
        gateway="alipay",
        bill_no=withdrawal.payout_bill_no,
        amount=withdrawal.net_amount,
        account=withdrawal.account_number,
        name=withdrawal.account_name,
    )

    code, out, _ = verify()

    assert code == 0, out


def test_a_withdrawal_approved_a_moment_ago_is_not_yet_a_problem(carol, reviewer):
    withdrawal = withdraw(carol, "60.00")
    approved_long_ago(withdrawal, reviewer, minutes=0)

    code, out, _ = verify()

    assert code == 0, out
    assert Withdrawal.objects.get(pk=withdrawal.pk).status == Withdrawal.Status.PAYING
