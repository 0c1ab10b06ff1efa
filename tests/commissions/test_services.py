from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from commissions import services
from commissions.models import Commission, CommissionPlan, LedgerEntry
from commissions.selectors import EarningsSummary, earnings_summary
from distributors.models import Distributor
from orders import refunds
from orders import services as order_services
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def pay_order(shopper, make_variant, address, chain):
    """pay_order(): a paid order of 200.00 of goods through carol's link
    (carol < bob < alice), under the plan active when it is called."""

    def pay(price="100.00", quantity=2, buyer=None, variant=None):
        carol = chain[2]
        variant = variant or make_variant(price=price)
        order = order_services.place_order(
            buyer or shopper,
            [(variant.pk, quantity)],
            address=address,
            referral_code=carol.invite_code,
        )
        # The test's transaction never commits, so accrual is called by each test.
        return order_services.mark_paid(order)

    return pay


@pytest.fixture
def paid_order(pay_order):
    return pay_order()


def amounts(order):
    return {
        c.distributor.user.username: (c.level, c.amount)
        for c in Commission.objects.filter(order=order).select_related("distributor__user")
    }


def test_default_plan_pays_two_levels(paid_order):
    services.accrue_commissions(paid_order.pk)
    assert amounts(paid_order) == {
        "carol": (1, Decimal("20.00")),
        "bob": (2, Decimal("5.00") * 2),
    }


def test_accrual_runs_once_however_often_it_is_delivered(paid_order):
    first = services.accrue_commissions(paid_order.pk)
    again = services.accrue_commissions(paid_order.pk)
    assert {c.pk for c in again} == {c.pk for c in first}
    assert Commission.objects.filter(order=paid_order).count() == 2
    assert LedgerEntry.objects.filter(commission__order=paid_order).count() == 2


def test_three_level_plan_reaches_the_third_ancestor(pay_order, use_plan):
    use_plan(levels=3, level_3_rate=Decimal("0.0200"))
    order = pay_order()
    services.accrue_commissions(order.pk)
    assert amounts(order)["alice"] == (3, Decimal("4.00"))


def test_a_suspended_distributor_earns_nothing_new(paid_order, chain):
    Distributor.objects.filter(pk=chain[1].pk).update(status=Distributor.Status.SUSPENDED)
    services.accrue_commissions(paid_order.pk)
    assert set(amounts(paid_order)) == {"carol"}


def test_commissions_become_available_when_the_order_completes(paid_order, admin_user, chain):
    services.accrue_commissions(paid_order.pk)
    carol = chain[2]
    assert earnings_summary(carol).pending == Decimal("20.00")

    order_services.ship_order(paid_order, carrier="SF", tracking_number="1", actor=admin_user)
    order_services.complete_order(paid_order, actor=admin_user)
    services.release_order_commissions(paid_order.pk)
    services.release_order_commissions(paid_order.pk)  # a second delivery changes nothing

    summary = earnings_summary(carol)
    assert (summary.pending, summary.available, summary.total) == (
        Decimal("0.00"),
        Decimal("20.00"),
        Decimal("20.00"),
    )


def test_release_waits_for_the_freeze_period(pay_order, use_plan, admin_user):
    from datetime import timedelta

    use_plan(freeze_days=7)
    paid_order = pay_order()
    services.accrue_commissions(paid_order.pk)
    order_services.ship_order(paid_order, carrier="SF", tracking_number="1", actor=admin_user)
    order_services.complete_order(paid_order, actor=admin_user)

    assert services.release_due_commissions() == 0
    paid_order.refresh_from_db()
    later = paid_order.completed_at + timedelta(days=7, seconds=1)
    assert services.release_due_commissions(now=later) == 2


def test_refund_reverses_commissions_by_new_entries(paid_order, admin_user, chain):
    from payments.models import Payment

    Payment.objects.create(
        order=paid_order, gateway="sandbox", amount=paid_order.total, status="succeeded"
    )
    services.accrue_commissions(paid_order.pk)

    refunds.refund_order(paid_order, actor=admin_user, reason="broken bottle")

    carol = chain[2]
    assert earnings_summary(carol) == EarningsSummary(
        pending=Decimal("0.00"),
        available=Decimal("0.00"),
        held=Decimal("0.00"),
        withdrawn=Decimal("0.00"),
        total=Decimal("0.00"),
    )
    # nothing deleted: accrual and reversal both stand in the ledger
    kinds = sorted(LedgerEntry.objects.filter(distributor=carol).values_list("kind", flat=True))
    assert kinds == ["accrued", "reversed"]
    assert Commission.objects.filter(order=paid_order, status="reversed").count() == 2


def test_an_order_refunded_before_the_task_ran_accrues_then_reverses_in_full(
    paid_order, admin_user, chain
):
    from payments.models import Payment

    Payment.objects.create(
        order=paid_order, gateway="sandbox", amount=paid_order.total, status="succeeded"
    )
    refunds.refund_order(paid_order, actor=admin_user)

    # the refund accrued first, so the ledger shows what was earned and taken back
    assert Commission.objects.filter(order=paid_order, status="reversed").count() == 2
    assert earnings_summary(chain[2]).total == Decimal("0.00")
    # and the late task adds nothing
    services.accrue_commissions(paid_order.pk)
    assert Commission.objects.filter(order=paid_order).count() == 2


@pytest.mark.parametrize(
    ("base", "rates", "cap", "expected"),
    [
        ("100.00", ["0.10", "0.05"], "0.30", ["10.00", "5.00"]),
        ("33.33", ["0.10", "0.05"], "0.30", ["3.33", "1.66"]),  # rounded down to the fen
        ("100.00", ["0.20", "0.15"], "0.30", ["20.00", "10.00"]),  # deeper level gives way
        ("0.05", ["0.10", "0.05"], "0.30", ["0.00", "0.00"]),
    ],
)
def test_split_never_exceeds_the_cap_and_rounds_down(base, rates, cap, expected):
    amounts = services.split_commission(Decimal(base), [Decimal(r) for r in rates], Decimal(cap))
    assert amounts == [Decimal(e) for e in expected]
    assert sum(amounts) <= Decimal(base) * Decimal(cap)


def test_a_plan_with_four_levels_is_refused():
    plan = CommissionPlan(name="pyramid", levels=4)
    with pytest.raises(ValidationError) as excinfo:
        plan.full_clean()
    assert "levels" in excinfo.value.message_dict


def test_a_plan_whose_rates_exceed_the_cap_is_refused():
    plan = CommissionPlan(
        name="greedy",
        levels=2,
        level_1_rate=Decimal("0.25"),
        level_2_rate=Decimal("0.10"),
        payout_cap=Decimal("0.30"),
    )
    with pytest.raises(ValidationError):
        plan.full_clean()


def test_activating_a_plan_retires_the_previous_one():
    old = CommissionPlan.objects.get(is_active=True)
    new = CommissionPlan.objects.create(name="three tiers", levels=3, level_1_rate=Decimal("0.1"))
    services.activate_plan(new)
    assert list(CommissionPlan.objects.filter(is_active=True)) == [new]
    old.refresh_from_db()
    assert not old.is_active


def test_an_invalid_plan_cannot_be_activated():
    bad = CommissionPlan.objects.create(
        name="no methods", levels=1, level_1_rate=Decimal("0.1"), payout_methods=[]
    )
    with pytest.raises(ValidationError):
        services.activate_plan(bad)
    assert CommissionPlan.objects.get(is_active=True).name != "no methods"


def test_a_plan_above_its_cap_cannot_even_be_stored():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        CommissionPlan.objects.create(name="greedy", levels=1, level_1_rate=Decimal("0.9"))
    assert not CommissionPlan.objects.filter(name="greedy").exists()


def test_a_paid_order_whose_accrual_was_never_sent_is_found_by_the_sweep(paid_order):
    from datetime import timedelta

    from django.utils import timezone

    # given: the order was paid ten minutes ago and its on-commit send was lost
    Order.objects.filter(pk=paid_order.pk).update(paid_at=timezone.now() - timedelta(minutes=10))
    assert not Commission.objects.filter(order=paid_order).exists()

    assert services.accrue_missing_commissions() == 1
    assert Commission.objects.filter(order=paid_order).count() == 2
    assert services.accrue_missing_commissions() == 0  # found once
