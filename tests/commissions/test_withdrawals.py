"""Withdrawals (提现): the rules of requesting, paying and rejecting, and their ledger entries."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from commissions import withdrawals
from commissions.models import CommissionPlan, LedgerEntry, LedgerIsAppendOnly, Withdrawal
from commissions.selectors import earnings_summary
from distributors.models import Distributor
from tests.commissions.helpers import withdraw

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def balances(distributor):
    summary = earnings_summary(distributor)
    return summary.available, summary.held, summary.withdrawn


def nothing_changed(distributor):
    return not Withdrawal.objects.exists() and balances(distributor) == (
        Decimal("100.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )


# --- requesting --------------------------------------------------------------------------


def test_a_request_holds_the_amount_at_once(carol):
    withdrawal = withdraw(carol, "60.00")

    assert withdrawal.status == Withdrawal.Status.REQUESTED
    assert balances(carol) == (Decimal("40.00"), Decimal("60.00"), Decimal("0.00"))
    entry = LedgerEntry.objects.get(withdrawal=withdrawal)
    assert (entry.kind, entry.pending, entry.available, entry.held) == (
        LedgerEntry.Kind.WITHDRAWAL_HELD,
        Decimal("0.00"),
        Decimal("-60.00"),
        Decimal("60.00"),
    )


def test_the_fee_is_the_plan_rate_rounded_down_to_the_fen(carol):
    CommissionPlan.objects.filter(is_active=True).update(withdrawal_fee_rate=Decimal("0.0060"))

    withdrawal = withdraw(carol, "55.55")  # 0.6% of 55.55 is 0.3333

    assert (withdrawal.amount, withdrawal.fee, withdrawal.net_amount) == (
        Decimal("55.55"),
        Decimal("0.33"),
        Decimal("55.22"),
    )
    # the whole amount leaves the balance; the fee is the merchant's share of it
    assert balances(carol)[1] == Decimal("55.55")


def test_an_amount_below_the_plan_minimum_is_refused(carol):
    with pytest.raises(withdrawals.BelowMinimum, match=r"minimum withdrawal is ¥50\.00"):
        withdraw(carol, "49.99")
    assert nothing_changed(carol)


def test_an_amount_above_the_available_balance_is_refused(carol):
    with pytest.raises(withdrawals.InsufficientBalance, match=r"at most ¥100\.00"):
        withdraw(carol, "100.01")
    assert nothing_changed(carol)


def test_the_whole_available_balance_can_be_withdrawn(carol):
    withdraw(carol, "100.00")
    assert balances(carol) == (Decimal("0.00"), Decimal("100.00"), Decimal("0.00"))


def test_held_money_cannot_be_asked_for_twice(carol):
    withdraw(carol, "60.00")
    with pytest.raises(withdrawals.InsufficientBalance, match=r"at most ¥40\.00"):
        withdraw(carol, "60.00")
    assert Withdrawal.objects.count() == 1


def test_pending_commissions_cannot_be_withdrawn(chain, earn, shopper, make_variant, address):
    from commissions.services import accrue_commissions
    from orders import services as order_services

    alice, bob, carol = chain
    variant = make_variant(price="1000.00")
    order = order_services.place_order(
        shopper, [(variant.pk, 1)], address=address, referral_code=carol.invite_code
    )
    order_services.mark_paid(order)
    accrue_commissions(order.pk)
    assert earnings_summary(carol).pending == Decimal("100.00")

    with pytest.raises(withdrawals.InsufficientBalance, match=r"at most ¥0\.00"):
        withdraw(carol, "50.00")


def test_a_payout_method_the_plan_does_not_offer_is_refused(carol):
    CommissionPlan.objects.filter(is_active=True).update(payout_methods=["bank_card"])
    with pytest.raises(withdrawals.MethodNotAllowed, match="Bank card"):
        withdraw(carol, method="alipay")
    with pytest.raises(withdrawals.MethodNotAllowed):
        withdraw(carol, method="paypal")
    assert nothing_changed(carol)


def test_a_suspended_distributor_cannot_withdraw(carol):
    Distributor.objects.filter(pk=carol.pk).update(status=Distributor.Status.SUSPENDED)
    with pytest.raises(withdrawals.DistributorInactive, match="suspended"):
        withdraw(carol)
    assert nothing_changed(carol)


@pytest.mark.parametrize("amount", ["0", "-60.00", "60.001", "NaN", "Infinity", "sixty"])
def test_an_amount_that_is_not_a_positive_number_of_fen_is_refused(carol, amount):
    with pytest.raises(withdrawals.InvalidAmount, match="greater than zero"):
        withdraw(carol, amount)
    assert nothing_changed(carol)


def test_a_float_amount_is_a_programming_error(carol):
    with pytest.raises(TypeError):
        withdraw(carol, 60.0)


def test_an_account_is_required(carol):
    with pytest.raises(withdrawals.MissingAccount):
        withdraw(carol, account_number="   ")
    assert nothing_changed(carol)


def test_withdrawals_are_closed_without_an_active_plan(carol):
    CommissionPlan.objects.update(is_active=False)
    with pytest.raises(withdrawals.WithdrawalsClosed):
        withdraw(carol)
    assert nothing_changed(carol)


# --- reviewing ---------------------------------------------------------------------------


@pytest.fixture
def requested(carol):
    return withdraw(carol, "60.00")


def test_approving_pays_the_hold_and_records_the_reviewer(carol, requested, reviewer):
    withdrawals.approve_withdrawal(requested, reviewer=reviewer, payout_reference=" ALI-2025-1 ")

    requested.refresh_from_db()
    assert requested.status == Withdrawal.Status.PAID
    assert (requested.reviewer, requested.payout_reference) == (reviewer, "ALI-2025-1")
    assert requested.reviewed_at is not None
    assert balances(carol) == (Decimal("40.00"), Decimal("0.00"), Decimal("60.00"))
    # paying moves money out of the balance, not out of what was earned
    assert earnings_summary(carol).total == Decimal("100.00")


def test_approving_twice_pays_once(carol, requested, reviewer, admin_user):
    withdrawals.approve_withdrawal(requested, reviewer=reviewer, payout_reference="ALI-1")
    again = withdrawals.approve_withdrawal(
        Withdrawal.objects.get(pk=requested.pk), reviewer=admin_user, payout_reference="ALI-2"
    )

    assert (again.reviewer, again.payout_reference) == (reviewer, "ALI-1")
    assert LedgerEntry.objects.filter(withdrawal=requested).count() == 2
    assert balances(carol) == (Decimal("40.00"), Decimal("0.00"), Decimal("60.00"))


def test_rejecting_returns_the_hold_to_the_available_balance(carol, requested, reviewer):
    withdrawals.reject_withdrawal(requested, reviewer=reviewer, reason="账户名与实名不符")

    requested.refresh_from_db()
    assert requested.status == Withdrawal.Status.REJECTED
    assert (requested.reviewer, requested.reject_reason) == (reviewer, "账户名与实名不符")
    assert balances(carol) == (Decimal("100.00"), Decimal("0.00"), Decimal("0.00"))
    kinds = set(LedgerEntry.objects.filter(withdrawal=requested).values_list("kind", flat=True))
    assert kinds == {"withdrawal_held", "withdrawal_returned"}


def test_rejecting_twice_returns_once(carol, requested, reviewer):
    withdrawals.reject_withdrawal(requested, reviewer=reviewer, reason="wrong name")
    withdrawals.reject_withdrawal(requested, reviewer=reviewer, reason="wrong name")
    assert balances(carol) == (Decimal("100.00"), Decimal("0.00"), Decimal("0.00"))


def test_a_rejected_withdrawal_cannot_be_paid(carol, requested, reviewer):
    withdrawals.reject_withdrawal(requested, reviewer=reviewer, reason="wrong name")

    with pytest.raises(withdrawals.AlreadyReviewed, match="is Rejected and cannot become Paid"):
        withdrawals.approve_withdrawal(requested, reviewer=reviewer, payout_reference="ALI-1")

    requested.refresh_from_db()
    assert (requested.status, requested.payout_reference) == ("rejected", "")
    assert balances(carol) == (Decimal("100.00"), Decimal("0.00"), Decimal("0.00"))


def test_a_paid_withdrawal_cannot_be_rejected(carol, requested, reviewer):
    withdrawals.approve_withdrawal(requested, reviewer=reviewer, payout_reference="ALI-1")

    with pytest.raises(withdrawals.AlreadyReviewed, match="is Paid and cannot become Rejected"):
        withdrawals.reject_withdrawal(requested, reviewer=reviewer, reason="too late")

    assert balances(carol) == (Decimal("40.00"), Decimal("0.00"), Decimal("60.00"))


def test_paying_needs_a_reference_and_rejecting_a_reason(requested, reviewer):
    with pytest.raises(withdrawals.MissingPayoutReference):
        withdrawals.approve_withdrawal(requested, reviewer=reviewer, payout_reference=" ")
    with pytest.raises(withdrawals.MissingRejectReason):
        withdrawals.reject_withdrawal(requested, reviewer=reviewer, reason="")
    requested.refresh_from_db()
    assert requested.status == Withdrawal.Status.REQUESTED


# --- the ledger --------------------------------------------------------------------------


def test_the_summary_is_one_query(carol, requested, django_assert_num_queries):
    with django_assert_num_queries(1):
        summary = earnings_summary(carol)
    assert summary.total == summary.pending + summary.available + summary.held + summary.withdrawn


def test_every_balance_is_the_sum_of_the_entries(carol, requested, reviewer, earn):
    earn(carol, "30.00")
    withdrawals.approve_withdrawal(requested, reviewer=reviewer, payout_reference="ALI-1")
    second = withdraw(carol, "50.00")
    withdrawals.reject_withdrawal(second, reviewer=reviewer, reason="wrong account")
    withdraw(carol, "70.00")

    entries = LedgerEntry.objects.filter(distributor=carol)
    summary = earnings_summary(carol)
    assert summary.available == sum(e.available for e in entries) == Decimal("0.00")
    assert summary.held == sum(e.held for e in entries) == Decimal("70.00")
    assert summary.withdrawn == Decimal("60.00")
    assert summary.total == Decimal("130.00")


def test_ledger_entries_are_never_updated_or_deleted(requested):
    entry = LedgerEntry.objects.get(withdrawal=requested)
    entry.available = Decimal("1000.00")
    with pytest.raises(LedgerIsAppendOnly):
        entry.save()
    with pytest.raises(LedgerIsAppendOnly):
        entry.delete()
    with pytest.raises(LedgerIsAppendOnly):
        LedgerEntry.objects.filter(pk=entry.pk).update(available=Decimal("1000.00"))
    with pytest.raises(LedgerIsAppendOnly):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).available == Decimal("-60.00")


def test_an_entry_belongs_to_exactly_one_commission_or_withdrawal(carol, requested):
    commission = carol.commissions.get()
    for source in ({}, {"commission": commission, "withdrawal": requested}):
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(
                distributor=carol,
                kind=LedgerEntry.Kind.WITHDRAWAL_HELD,
                pending=0,
                available=0,
                **source,
            )


def test_a_withdrawal_is_held_once(carol, requested):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            distributor=carol,
            withdrawal=requested,
            kind=LedgerEntry.Kind.WITHDRAWAL_HELD,
            pending=0,
            available=Decimal("-60.00"),
            held=Decimal("60.00"),
        )


@pytest.mark.parametrize(
    ("amount", "fee", "net"),
    # net = amount - fee itself is kept by the service (an equality CHECK would
    # compare floats on SQLite); the database refuses a net above the amount.
    [("0.00", "0.00", "0.00"), ("10.00", "-1.00", "11.00"), ("10.00", "1.00", "10.01")],
)
def test_the_database_refuses_impossible_withdrawals(carol, amount, fee, net):
    with pytest.raises(IntegrityError), transaction.atomic():
        Withdrawal.objects.create(
            distributor=carol,
            amount=Decimal(amount),
            fee=Decimal(fee),
            net_amount=Decimal(net),
            method="alipay",
            account_name="张三",
            account_number="13800138000",
        )
