"""The recruitment reward (拉新奖励): a new customer's first paid order earns the distributor
who brought them a pending reward, released with the commissions and reversed by a full refund."""

import itertools
import logging
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from commissions import services as commission_services
from commissions.models import Bonus, LedgerEntry
from commissions.selectors import earnings_summary
from commissions.verification import verify_ledger
from marketing import rewards
from marketing.models import RecruitmentRewardSettings
from orders import aftersale, refunds
from orders import services as order_services
from orders.services import InvalidTransition
from tests.orders.aftersale_helpers import pay

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def reward_on(db):
    """Rewards of 8.00, at most 2 per distributor a day."""
    return RecruitmentRewardSettings.objects.create(is_enabled=True, amount=D("8.00"), daily_cap=2)


@pytest.fixture
def carol(chain):
    return chain[2]


@pytest.fixture
def buy(make_user, make_variant, address):
    """buy(buyer=None, via=carol, quantity=1): an order of 100.00 a unit, paid through the
    sandbox; a new buyer each time unless one is given, through `via`'s link if any."""
    names = itertools.count(1)

    def buy(buyer=None, *, via=None, quantity=1, paid=True):
        buyer = buyer or make_user(f"newcomer{next(names)}")
        order = order_services.place_order(
            buyer,
            [(make_variant(price="100.00").pk, quantity)],
            address=address,
            referral_code=via.invite_code if via else "",
        )
        return pay(order) if paid else order

    return buy


def rewards_of(distributor):
    return list(
        Bonus.objects.filter(distributor=distributor, kind=Bonus.Kind.RECRUITMENT).values_list(
            "customer__username", "amount", "status"
        )
    )


def test_a_new_customers_first_paid_order_earns_a_pending_reward(reward_on, carol, buy):
    order = buy(via=carol)

    bonus = Bonus.objects.get()
    assert (bonus.distributor, bonus.customer, bonus.order) == (carol, order.user, order)
    assert (bonus.amount, bonus.status) == (D("8.00"), Bonus.Status.PENDING)
    entry = bonus.entries.get()
    assert (entry.kind, entry.pending, entry.available) == ("reward_accrued", D("8.00"), D("0"))
    # beside the 10.00 commission of the order, once it is accrued
    commission_services.accrue_commissions(order.pk)
    assert earnings_summary(carol).pending == D("18.00")
    assert verify_ledger().is_consistent


def test_the_customers_second_order_earns_no_second_reward(reward_on, carol, buy):
    first = buy(via=carol)

    buy(first.user, via=carol)

    assert rewards_of(carol) == [(first.user.username, D("8.00"), "pending")]


def test_a_customer_who_paid_before_without_a_link_is_not_new(reward_on, carol, buy):
    earlier = buy()  # came on their own: nobody to reward

    buy(earlier.user, via=carol)

    assert not Bonus.objects.exists()


def test_the_first_order_paid_is_the_one_that_counts_not_the_first_placed(
    reward_on, carol, buy, make_user
):
    newcomer = make_user("newcomer")
    placed_first = buy(newcomer, via=carol, paid=False)

    paid_first = buy(newcomer, via=carol)
    pay(placed_first)

    assert Bonus.objects.get().order == paid_first


def test_a_distributor_buying_for_themselves_earns_no_reward(reward_on, carol, buy, use_plan):
    use_plan(allows_self_purchase=True)

    order = buy(carol.user)

    assert order.distributor == carol  # self-purchase commission, but no reward
    assert not Bonus.objects.exists()


def test_a_distributors_own_order_credited_to_their_recruiter_earns_no_reward(
    reward_on, chain, buy
):
    bob, carol = chain[1], chain[2]

    order = buy(carol.user)

    assert order.distributor == bob  # she buys as bob's customer, but is not a new one
    assert not Bonus.objects.exists()


def test_no_reward_when_rewards_are_off(reward_on, carol, buy):
    RecruitmentRewardSettings.objects.filter(pk=reward_on.pk).update(is_enabled=False)

    buy(via=carol)

    assert not Bonus.objects.exists()


def test_no_reward_without_settings_or_without_a_distributor(carol, buy, reward_on):
    buy()  # no link, no binding
    RecruitmentRewardSettings.objects.all().delete()
    buy(via=carol)  # never configured: off

    assert not Bonus.objects.exists()


def test_a_distributor_suspended_before_the_payment_earns_no_reward(reward_on, carol, buy):
    order = buy(via=carol, paid=False)
    type(carol).objects.filter(pk=carol.pk).update(status="suspended")

    pay(order)

    assert not Bonus.objects.exists()


def test_a_retried_payment_or_grant_gives_one_reward(reward_on, carol, buy):
    order = buy(via=carol)

    with pytest.raises(InvalidTransition):
        order_services.mark_paid(order)
    assert rewards.grant(order) is None

    assert len(rewards_of(carol)) == 1
    assert LedgerEntry.objects.filter(kind="reward_accrued").count() == 1


def test_the_daily_cap_stops_rewards_for_the_rest_of_the_day(reward_on, carol, buy, caplog):
    buy(via=carol)
    buy(via=carol)

    with caplog.at_level(logging.INFO, logger="marketing.rewards"):
        third = buy(via=carol)

    assert len(rewards_of(carol)) == 2
    assert f"no recruitment reward for order {third.number}" in caplog.text
    assert "already got 2 today (cap 2)" in caplog.text


def test_the_cap_counts_today_only(reward_on, carol, buy):
    buy(via=carol)
    buy(via=carol)
    Bonus.objects.update(created_at=timezone.now() - timedelta(days=1))

    buy(via=carol)

    assert len(rewards_of(carol)) == 3


def test_the_day_of_the_cap_is_the_local_date(reward_on, carol, buy):
    # 00:30 in Shanghai is 16:30 UTC the day before: two rewards given at 23:50 local
    # the evening before are yesterday's, not today's
    just_after_midnight = timezone.make_aware(datetime(2026, 3, 10, 0, 30))
    buy(via=carol)
    buy(via=carol)
    Bonus.objects.update(created_at=just_after_midnight - timedelta(minutes=40))
    RecruitmentRewardSettings.objects.update(is_enabled=False)
    order = buy(via=carol)
    RecruitmentRewardSettings.objects.update(is_enabled=True)

    assert rewards.grant(order, now=just_after_midnight) is not None
    assert len(rewards_of(carol)) == 3


def test_the_cap_is_per_distributor(reward_on, chain, buy):
    bob, carol = chain[1], chain[2]
    buy(via=carol)
    buy(via=carol)

    buy(via=bob)

    assert len(rewards_of(bob)) == 1


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", is_staff=True)


def complete(order, staff):
    order_services.ship_order(order, carrier="SF", tracking_number="SF1", actor=staff)
    return order_services.complete_order(order, actor=staff)


def test_the_reward_is_released_after_completion_and_the_freeze(
    reward_on, carol, buy, staff, use_plan
):
    use_plan(freeze_days=7)
    order = buy(via=carol)
    commission_services.accrue_commissions(order.pk)
    completed_at = complete(order, staff).completed_at

    # before the freeze passed, nothing moves
    assert commission_services.release_due_commissions(now=completed_at + timedelta(days=6)) == 0
    assert Bonus.objects.get().status == Bonus.Status.PENDING

    # after it, the commissions (carol's and her recruiter's) and the reward
    later = completed_at + timedelta(days=7, minutes=1)
    assert commission_services.release_due_commissions(now=later) == 3
    assert commission_services.release_due_commissions(now=later) == 0

    bonus = Bonus.objects.get()
    assert (bonus.status, bonus.released_at) == (Bonus.Status.AVAILABLE, later)
    summary = earnings_summary(carol)
    assert (summary.pending, summary.available) == (D("0.00"), D("18.00"))
    assert verify_ledger().is_consistent


def test_a_completed_order_whose_commissions_were_released_still_releases_its_reward(
    reward_on, carol, buy, staff
):
    # its accrual has not run, so it has no commission to release: the reward is due all the same
    order = buy(via=carol)
    complete(order, staff)

    assert commission_services.release_due_commissions() == 1
    assert earnings_summary(carol).available == D("8.00")


def test_a_full_refund_reverses_the_reward(reward_on, carol, buy, admin_user):
    order = buy(via=carol)

    refunds.refund_order(order, actor=admin_user, reason="changed my mind")

    bonus = Bonus.objects.get()
    assert bonus.status == Bonus.Status.REVERSED
    reversal = bonus.entries.get(kind="reward_reversed")
    assert (reversal.pending, reversal.available) == (D("-8.00"), D("0.00"))
    summary = earnings_summary(carol)
    assert (summary.pending, summary.total, summary.bonuses) == (D("0"), D("0"), D("0"))
    assert verify_ledger().is_consistent


def test_a_partial_refund_keeps_the_reward(reward_on, carol, buy, admin_user):
    order = buy(via=carol, quantity=2)
    request = aftersale.request_refund(
        order,
        user=order.user,
        kind="lines",
        reason="damaged",
        quantities={order.lines.get().pk: 1},
    )

    aftersale.approve(request, actor=admin_user)

    order.refresh_from_db()
    assert order.status == "partially_refunded"
    assert rewards_of(carol) == [(order.user.username, D("8.00"), "pending")]


def test_refunding_the_rest_after_a_partial_refund_reverses_the_reward(
    reward_on, carol, buy, admin_user
):
    order = buy(via=carol, quantity=2)
    line = order.lines.get().pk
    for _ in range(2):
        request = aftersale.request_refund(
            order, user=order.user, kind="lines", reason="damaged", quantities={line: 1}
        )
        aftersale.approve(request, actor=admin_user)

    assert rewards_of(carol) == [(order.user.username, D("8.00"), "reversed")]


def test_a_refunded_first_order_does_not_make_the_next_one_first(reward_on, carol, buy, admin_user):
    first = buy(via=carol)
    refunds.refund_order(first, actor=admin_user, reason="changed my mind")

    buy(first.user, via=carol)

    assert rewards_of(carol) == [(first.user.username, D("8.00"), "reversed")]


def test_the_merchant_turns_rewards_on_in_the_back_office(admin_client, carol, buy, settings):
    settings.LANGUAGE_CODE = "en"  # the help text in the words it was written in
    page = admin_client.get(reverse("admin:marketing_recruitmentrewardsettings_changelist"))
    assert page.status_code == 302  # straight to the one row
    form = admin_client.get(page.url).content.decode()
    assert "first order ever" in form  # the rule, in the merchant's words

    admin_client.post(page.url, {"is_enabled": "on", "amount": "6.50", "daily_cap": "5"})
    buy(via=carol)

    assert rewards_of(carol)[0][1:] == (D("6.50"), "pending")
