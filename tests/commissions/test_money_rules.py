"""Money rules a random search over networks, plans and refunds broke: each one here,
as a distributor or the merchant would notice it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from commissions import services
from commissions.models import Accrual, Commission, CommissionPlan, FrozenPlan
from commissions.selectors import earnings_summary
from orders import services as order_services
from orders.models import Order

pytestmark = pytest.mark.django_db


def earned(order):
    return {
        c.distributor.user.username: c.level
        for c in Commission.objects.filter(order=order).select_related("distributor__user")
    }


@pytest.fixture
def place(address, make_variant):
    def go(buyer, referral_code="", price="100.00"):
        variant = make_variant(price=price)
        return order_services.place_order(
            buyer, [(variant.pk, 1)], address=address, referral_code=referral_code
        )

    return go


def pay_and_accrue(order):
    order = order_services.mark_paid(order)
    services.accrue_commissions(order.pk)
    order.refresh_from_db()
    return order


# --- 1. the sweep only picks up orders whose accrual never ran ---------------------------


def test_a_sweep_after_reactivation_does_not_pay_an_earner_who_was_suspended_when_paid(
    chain, shopper, place, use_plan, admin_user
):
    from distributors import network

    use_plan(levels=1)
    carol = chain[2]
    order = place(shopper, carol.invite_code)
    # given: carol, the only earner, is suspended when the money arrives
    network.suspend_distributor(carol, actor=admin_user)
    order = pay_and_accrue(order)
    assert earned(order) == {}
    # when: she is reactivated, the order completes, and the safety sweep runs
    network.reactivate_distributor(carol, actor=admin_user)
    order_services.ship_order(order, carrier="SF", tracking_number="SF1", actor=admin_user)
    order_services.complete_order(order, actor=admin_user)
    swept = services.accrue_missing_commissions(now=order.paid_at + timedelta(minutes=10))
    services.release_order_commissions(order.pk)
    # then: suspension still means she earned nothing on it
    assert swept == 0
    assert earned(order) == {}
    assert earnings_summary(carol).available == Decimal("0.00")


def test_accrual_records_that_it_ran_and_why_nobody_earned(chain, shopper, place, admin_user):
    from distributors import network

    alice, bob, carol = chain
    order = place(shopper, carol.invite_code)
    for member in (bob, carol):
        network.suspend_distributor(member, actor=admin_user)
    order = pay_and_accrue(order)

    record = Accrual.objects.get(order=order)
    assert (record.earners, record.outcome) == (0, Accrual.Outcome.NO_ELIGIBLE_EARNER)
    assert record.plan_id == order.commission_plan_id


def test_the_sweep_still_accrues_an_order_whose_accrual_never_ran(chain, shopper, place):
    order = order_services.mark_paid(place(shopper, chain[2].invite_code))  # task lost

    swept = services.accrue_missing_commissions(now=order.paid_at + timedelta(minutes=10))

    assert swept == 1
    assert earned(order) == {"carol": 1, "bob": 2}
    assert Accrual.objects.get(order=order).outcome == Accrual.Outcome.CREDITED


# --- 2. one plan version decides everything about an order -------------------------------


def test_a_self_purchase_placed_under_a_plan_allowing_it_accrues_under_that_plan(
    chain, place, use_plan
):
    carol = chain[2]
    allowing = use_plan(allows_self_purchase=True)
    order = place(carol.user)
    # a plan without self-purchase is activated before the money arrives
    use_plan(allows_self_purchase=False, self_purchase_rule="nobody")
    order = pay_and_accrue(order)

    assert order.commission_plan == allowing
    assert earned(order) == {"carol": 1, "bob": 2}
    assert set(Commission.objects.filter(order=order).values_list("plan", flat=True)) == {
        allowing.pk
    }


def test_a_self_purchase_placed_under_a_plan_forbidding_it_never_earns_under_a_later_one(
    chain, place, use_plan
):
    carol = chain[2]
    forbidding = use_plan(allows_self_purchase=False, self_purchase_rule="nobody")
    order = place(carol.user)
    use_plan(allows_self_purchase=True)  # activated before payment
    order = pay_and_accrue(order)

    assert order.commission_plan == forbidding
    assert earned(order) == {}


# --- 3. with self-purchase off, the distributor buys as their recruiter's customer ------


def test_by_default_a_distributor_buying_for_themselves_credits_their_recruiter_chain(chain, place):
    carol = chain[2]
    order = pay_and_accrue(place(carol.user))

    assert earned(order) == {"bob": 1, "alice": 2}


def test_the_merchant_may_choose_that_such_an_order_credits_nobody(chain, place, use_plan):
    use_plan(self_purchase_rule="nobody")

    assert earned(pay_and_accrue(place(chain[2].user))) == {}


def test_a_suspended_recruiter_is_credited_nothing_as_for_a_customer(chain, place, admin_user):
    from distributors import network

    alice, bob, carol = chain
    network.suspend_distributor(bob, actor=admin_user)

    assert earned(pay_and_accrue(place(carol.user))) == {}


def test_a_top_distributor_buying_for_themselves_credits_nobody(chain, place):
    assert earned(pay_and_accrue(place(chain[0].user))) == {}


def test_the_self_purchase_rule_is_versioned_with_the_plan(default_plan):
    draft = services.new_version(default_plan)
    assert draft.self_purchase_rule == default_plan.self_purchase_rule
    draft.self_purchase_rule = "nobody"
    draft.save()
    services.activate_plan(draft)

    draft.self_purchase_rule = "recruiter_chain"
    with pytest.raises(FrozenPlan):
        draft.save()


# --- 4. a partial refund never leaves more than the rate of the goods kept --------------


def test_after_a_partial_refund_the_net_never_exceeds_the_rate_of_the_goods_kept(
    chain, shopper, place
):
    order = pay_and_accrue(place(shopper, chain[2].invite_code, price="99.99"))
    carol_commission = Commission.objects.get(order=order, level=1)
    assert carol_commission.amount == Decimal("9.99")

    services.reverse_order_commissions(order, reason="one bottle", refunded=Decimal("10.00"))

    carol_commission.refresh_from_db()
    # 10% of the 89.99 kept is 8.999: she keeps 8.99, never 9.00
    assert carol_commission.net_amount == Decimal("8.99")
    assert earnings_summary(chain[2]).pending == Decimal("8.99")

    services.reverse_order_commissions(order, reason="all")
    carol_commission.refresh_from_db()
    assert carol_commission.net_amount == Decimal("0.00")


# --- 5. rates above the cap never reach the database ------------------------------------


def test_a_draft_with_rates_above_the_cap_cannot_be_saved(default_plan):
    draft = services.new_version(default_plan)
    draft.level_1_rate, draft.level_2_rate = Decimal("0.25"), Decimal("0.10")  # cap 0.30

    with pytest.raises(IntegrityError), transaction.atomic():
        draft.save()

    assert CommissionPlan.objects.get(pk=draft.pk).level_1_rate == Decimal("0.1000")


def test_rates_beyond_the_plans_levels_do_not_count_against_the_cap(default_plan):
    draft = services.new_version(default_plan)
    draft.level_3_rate = Decimal("0.50")  # a two-level plan never pays level 3
    draft.save()

    draft.refresh_from_db()
    assert draft.level_3_rate == Decimal("0.5000")


def test_rates_exactly_at_the_cap_are_allowed(default_plan):
    draft = services.new_version(default_plan)
    draft.levels = 3
    draft.level_1_rate, draft.level_2_rate, draft.level_3_rate = (
        Decimal("0.1"),
        Decimal("0.1"),
        Decimal("0.1"),
    )
    draft.save()
    services.activate_plan(draft)

    assert CommissionPlan.objects.get(is_active=True) == draft


# --- orders placed and paid before accrual records existed ------------------------------


def test_an_order_paid_without_a_plan_recorded_accrues_once(chain, shopper, place):
    order = order_services.mark_paid(place(shopper, chain[2].invite_code))
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(minutes=10))

    assert len(services.accrue_commissions(order.pk)) == 2
    assert len(services.accrue_commissions(order.pk)) == 2  # idempotent
    assert Accrual.objects.filter(order=order).count() == 1


def test_the_plan_form_and_preview_show_what_a_distributors_own_order_credits(
    admin_client, default_plan, english
):
    from django.urls import reverse

    draft = services.new_version(default_plan)
    draft.self_purchase_rule = "nobody"
    draft.save()

    form = admin_client.get(reverse("admin:commissions_commissionplan_change", args=[draft.pk]))
    preview = admin_client.get(reverse("admin:commissions_commissionplan_preview", args=[draft.pk]))

    assert 'name="self_purchase_rule"' in form.content.decode()
    text = preview.content.decode()
    assert "Their recruiter" in text and "Nobody earns" in text
