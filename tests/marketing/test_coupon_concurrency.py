"""Coupon races on real concurrent PostgreSQL connections: claims take the coupon's
row lock in turn, and one coupon makes one order."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from catalog.models import Variant
from marketing import coupons, pricing
from marketing.models import CouponClaim
from orders.models import Order
from orders.services import place_order
from tests.test_concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def coupon(make_coupon):
    return make_coupon(total_quantity=10)


def test_two_hundred_concurrent_claims_of_the_last_ten_hand_out_exactly_ten(coupon):
    User = get_user_model()
    shoppers = User.objects.bulk_create(
        User(username=f"shopper{n}", email=f"shopper{n}@example.com") for n in range(200)
    )

    results = run_at_once(lambda user: coupons.claim(user, coupon), shoppers)

    unexpected = [r for r in results if not isinstance(r, CouponClaim | coupons.SoldOut)]
    assert not unexpected, unexpected
    assert sum(isinstance(r, CouponClaim) for r in results) == 10
    assert CouponClaim.objects.filter(coupon=coupon).count() == 10
    assert CouponClaim.objects.values("user").distinct().count() == 10
    coupon.refresh_from_db()
    assert (coupon.claimed_count, coupon.remaining) == (10, 0)


def test_one_shopper_claiming_at_once_many_times_gets_the_per_person_limit(shopper, coupon):
    results = run_at_once(lambda _: coupons.claim(shopper, coupon), range(12))

    assert sum(isinstance(r, CouponClaim) for r in results) == 1
    assert all(isinstance(r, CouponClaim | coupons.LimitReached) for r in results)
    coupon.refresh_from_db()
    assert coupon.claimed_count == 1


def test_two_checkouts_with_one_coupon_make_one_order_with_it(
    shopper, coupon, make_variant, address
):
    tea, wine = make_variant(price="120.00", stock=5), make_variant(price="150.00", stock=5)
    claim = coupons.claim(shopper, coupon)

    results = run_at_once(
        lambda variant: place_order(shopper, [(variant.pk, 1)], address=address, coupon=claim.pk),
        [tea, wine],
    )

    orders = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, pricing.CouponError)]
    assert (len(orders), len(refused)) == (1, 1), results
    assert Order.objects.count() == 1
    claim.refresh_from_db()
    assert claim.order == orders[0] and orders[0].coupon_discount == Decimal("20.00")
    # the refused checkout's stock is untouched; the order's variant sold one
    stock = dict(Variant.objects.filter(pk__in=[tea.pk, wine.pk]).values_list("pk", "stock"))
    sold = orders[0].lines.get().variant_id
    assert stock == {sold: 4, (wine.pk if sold == tea.pk else tea.pk): 5}
