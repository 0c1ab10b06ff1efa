"""manage.py verify_ledger: silent success on a consistent ledger, a named failure otherwise."""

import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from commissions import withdrawals
from commissions.models import Commission, CommissionPlan, LedgerEntry, Withdrawal
from commissions.services import accrue_commissions
from orders import refunds
from orders import services as order_services
from payments.models import Payment
from tests.commissions.helpers import withdraw

pytestmark = pytest.mark.django_db


def verify(**options):
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_ledger", stdout=out, stderr=err, **options)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def busy_ledger(chain, carol, earn, reviewer):
    """Every kind of movement: accrued, released, held, paid, returned, reversed."""
    alice, bob, _ = chain
    CommissionPlan.objects.filter(is_active=True).update(
        withdrawal_fee_rate=Decimal("0.0060"), min_withdrawal=Decimal("10.00")
    )
    earn(bob, "40.00")

    withdrawals.approve_withdrawal(
        withdraw(carol, "30.00"), reviewer=reviewer, payout_reference="A1"
    )
    withdrawals.reject_withdrawal(withdraw(carol, "20.00"), reviewer=reviewer, reason="wrong name")
    withdraw(carol, "25.00")
    withdraw(bob, "15.00")
    return carol


@pytest.fixture
def refunded_order(chain, shopper, make_variant, address, admin_user):
    """An order through carol's link, paid, accrued, then refunded: its commissions reversed."""
    variant = make_variant(price="100.00")
    order = order_services.place_order(
        shopper, [(variant.pk, 1)], address=address, referral_code=chain[2].invite_code
    )
    order_services.mark_paid(order)
    Payment.objects.create(order=order, gateway="sandbox", amount=order.total, status="succeeded")
    accrue_commissions(order.pk)
    refunds.refund_order(order, actor=admin_user, reason="broken bottle")
    return order


def raw_sql(sql, params):
    """Change the tables behind the services' back, as a bug or a hand in the database would."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def insert_entry(distributor, commission, kind, pending, available):
    raw_sql(
        "INSERT INTO commissions_ledgerentry"
        " (distributor_id, commission_id, kind, pending, available, held, note, created_at)"
        " VALUES (%s, %s, %s, %s, %s, 0, '', %s)",
        [distributor.pk, commission.pk, kind, pending, available, timezone.now()],
    )


def set_commission_status(commission, status):
    raw_sql("UPDATE commissions_commission SET status = %s WHERE id = %s", [status, commission.pk])


def test_a_consistent_ledger_passes_in_one_line(busy_ledger, refunded_order):
    code, out, err = verify()

    distributors, entries = 3, LedgerEntry.objects.count()
    assert (code, out) == (
        0,
        f"ledger consistent: {distributors} distributors, {entries} entries\n",
    )


def test_an_inflated_entry_fails_and_names_the_distributor(busy_ledger):
    carol = busy_ledger
    entry = LedgerEntry.objects.filter(distributor=carol, kind="released").first()
    raw_sql(
        "UPDATE commissions_ledgerentry SET available = available + 1000 WHERE id = %s",
        [entry.pk],
    )

    code, out, _ = verify()

    assert code == 1
    assert f"distributor {carol}" in out
    assert "available" in out


def test_a_bogus_entry_fails_and_names_the_distributor(busy_ledger, chain):
    alice = chain[0]
    # alice earns nothing in busy_ledger; someone credits her a commission of carol's
    commission = Commission.objects.filter(distributor=busy_ledger).first()
    insert_entry(alice, commission, "reversed", Decimal("0.00"), Decimal("500.00"))

    code, out, _ = verify()

    assert code == 1
    assert f"distributor {alice}" in out
    assert f"commission #{commission.pk}" in out  # an entry of another distributor's commission


def test_a_commission_whose_status_disagrees_with_its_entries_fails(busy_ledger):
    commission = Commission.objects.filter(distributor=busy_ledger).first()
    set_commission_status(commission, "pending")

    code, out, _ = verify()

    assert code == 1
    assert f"commission #{commission.pk} (pending)" in out


def test_a_negative_balance_fails_even_when_the_records_agree(busy_ledger):
    # a commission reversed after part of it was withdrawn: ledger and records agree on -55.00
    carol = busy_ledger
    commission = Commission.objects.filter(distributor=carol).first()
    set_commission_status(commission, "reversed")
    insert_entry(carol, commission, "reversed", Decimal("0.00"), -commission.amount)

    code, out, _ = verify()

    assert code == 1
    assert f"distributor {carol}" in out and "-55.00" in out and ">= 0.00" in out


def test_an_order_paying_more_than_the_cap_fails(busy_ledger):
    commission = Commission.objects.filter(distributor=busy_ledger).first()
    raw_sql(
        "UPDATE commissions_commission SET base = 10 WHERE order_id = %s",
        [commission.order_id],
    )

    code, out, _ = verify()

    assert code == 1
    assert f"order {commission.order.number}" in out and "commission cap" in out


def test_a_refunded_order_with_a_live_commission_fails(busy_ledger, refunded_order):
    commission = refunded_order.commissions.first()
    set_commission_status(commission, "pending")

    code, out, _ = verify()

    assert code == 1
    assert f"order {refunded_order.number} (refunded)" in out


def test_progress_is_shown_on_a_ledger_larger_than_a_batch(busy_ledger):
    code, out, err = verify(batch_size=2)
    assert code == 0
    assert "checked 2/3 distributors" in err and "checked 3/3 distributors" in err


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_committed_during_the_check_is_no_difference(carol, monkeypatch):
    # given: the check has summed carol's entries, and is about to read her records
    from commissions import verification

    read_records = verification._record_balances

    def a_request_commits_meanwhile(in_batch):
        def request():
            try:
                withdraw(carol, "60.00")
            finally:
                connection.close()

        thread = threading.Thread(target=request)
        thread.start()
        thread.join(timeout=30)
        return read_records(in_batch)

    monkeypatch.setattr(verification, "_record_balances", a_request_commits_meanwhile)

    # when
    code, out, _ = verify()

    # then: the whole check read one snapshot, from before the request
    assert Withdrawal.objects.filter(distributor=carol).count() == 1
    assert (code, out.startswith("ledger consistent")) == (0, True), out


def test_partial_refunds_and_a_release_keep_the_ledger_consistent(
    shopper, address, chain, make_variant, admin_user
):
    from decimal import Decimal

    from django.core.management import call_command

    from commissions import services
    from orders import services as order_services

    order = order_services.place_order(
        shopper,
        [(make_variant(price="33.33").pk, 3)],
        address=address,
        referral_code=chain[2].invite_code,
    )
    order_services.mark_paid(order)
    services.accrue_commissions(order.pk)
    services.reverse_order_commissions(order, reason="one", refunded=Decimal("33.33"))
    order_services.ship_order(order, carrier="SF", tracking_number="1", actor=admin_user)
    order_services.complete_order(order, actor=admin_user)
    services.release_order_commissions(order.pk)
    services.reverse_order_commissions(order, reason="two", refunded=Decimal("66.66"))

    call_command("verify_ledger")  # exits non-zero (SystemExit) on any difference
