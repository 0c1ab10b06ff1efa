"""The recruitment reward's daily cap and once-per-customer rule on real concurrent
PostgreSQL connections."""

from decimal import Decimal

import pytest

from commissions.models import Bonus
from commissions.verification import verify_ledger
from distributors.models import NetworkSettings
from marketing.models import RecruitmentRewardSettings
from orders import services as order_services
from tests.orders.aftersale_helpers import pay
from tests.test_concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def reward_on(db):
    return RecruitmentRewardSettings.objects.create(
        is_enabled=True, amount=Decimal("8.00"), daily_cap=3
    )


def place(buyer, distributor, make_variant, address):
    return order_services.place_order(
        buyer,
        [(make_variant(price="50.00").pk, 1)],
        address=address,
        referral_code=distributor.invite_code,
    )


def test_concurrent_first_orders_through_one_distributor_stop_at_the_daily_cap(
    reward_on, chain, make_user, make_variant, address
):
    # given eight new customers' orders through carol, placed and waiting for their money
    carol = chain[2]
    orders = [place(make_user(f"new{n}"), carol, make_variant, address) for n in range(8)]

    # when all eight payments arrive at once
    results = run_at_once(pay, orders)

    # then every order is paid, and carol earned exactly her cap of rewards
    assert [order.status for order in results] == ["paid"] * 8
    rewarded = Bonus.objects.filter(distributor=carol, kind=Bonus.Kind.RECRUITMENT)
    assert rewarded.count() == reward_on.daily_cap
    assert len(set(rewarded.values_list("customer_id", flat=True))) == reward_on.daily_cap
    assert verify_ledger().is_consistent


def test_two_first_orders_of_one_customer_paid_at_once_earn_one_reward(
    reward_on, chain, make_user, make_variant, address
):
    # given one new customer's orders through two distributors (the last referrer wins)
    NetworkSettings.objects.update_or_create(
        pk=1, defaults={"binding_rule": NetworkSettings.BindingRule.LAST_REFERRER}
    )
    bob, carol = chain[1], chain[2]
    newcomer = make_user("newcomer")
    orders = [place(newcomer, carol, make_variant, address) for _ in range(2)]
    orders.append(place(newcomer, bob, make_variant, address))
    assert [order.distributor for order in orders] == [carol, carol, bob]

    results = run_at_once(pay, orders)

    assert [order.status for order in results] == ["paid"] * 3
    assert Bonus.objects.filter(customer=newcomer).count() == 1
    assert verify_ledger().is_consistent
