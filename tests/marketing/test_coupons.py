"""Claiming coupons (领券) and staff issuing them (发券): who may have one, how many."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from distributors.models import CustomerBinding
from marketing import coupons
from marketing.models import Coupon, CouponClaim
from orders import refunds, services
from orders.models import Order
from tests.orders.aftersale_helpers import place_paid

D = Decimal


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The refusals are read in English here (their Chinese is the catalogue's)."""
    with translation.override("en"):
        yield


@pytest.fixture
def make_coupon(db):
    def make(**fields):
        now = timezone.now()
        values = {
            "name": "满100减20",
            "kind": Coupon.Kind.AMOUNT_OFF,
            "amount": D("20.00"),
            "threshold": D("100.00"),
            "valid_from": now - timedelta(days=1),
            "valid_until": now + timedelta(days=7),
            **fields,
        }
        return Coupon.objects.create(**values)

    return make


@pytest.fixture
def staff(make_user):
    return make_user("staff", is_staff=True)


def held(user, coupon) -> int:
    return CouponClaim.objects.filter(user=user, coupon=coupon).count()


# Claiming -----------------------------------------------------------------------


def test_a_shopper_holds_no_more_than_the_per_person_limit(shopper, make_coupon):
    coupon = make_coupon(per_person_limit=2)
    coupons.claim(shopper, coupon)
    coupons.claim(shopper, coupon)

    with pytest.raises(coupons.LimitReached, match="2"):
        coupons.claim(shopper, coupon)

    assert held(shopper, coupon) == 2
    coupon.refresh_from_db()
    assert coupon.claimed_count == 2


def test_no_more_are_claimed_than_the_quantity(make_user, make_coupon):
    coupon = make_coupon(total_quantity=2)
    first, second, third = make_user("a"), make_user("b"), make_user("c")
    coupons.claim(first, coupon)
    coupons.claim(second, coupon)

    with pytest.raises(coupons.SoldOut, match="all been claimed"):
        coupons.claim(third, coupon)

    assert held(third, coupon) == 0
    coupon.refresh_from_db()
    assert (coupon.claimed_count, coupon.remaining) == (2, 0)


def test_a_new_customers_coupon_is_refused_to_someone_who_has_paid_before(
    shopper, make_user, make_coupon, variant, address
):
    coupon = make_coupon(audience=Coupon.Audience.NEW_CUSTOMERS)
    place_paid(shopper, [(variant, 1)], address)
    newcomer = make_user("newcomer")

    with pytest.raises(coupons.NotForYou, match="new customers"):
        coupons.claim(shopper, coupon)
    coupons.claim(newcomer, coupon)

    assert (held(shopper, coupon), held(newcomer, coupon)) == (0, 1)


def test_an_unpaid_order_leaves_a_shopper_a_new_customer(shopper, make_coupon, variant, address):
    coupon = make_coupon(audience=Coupon.Audience.NEW_CUSTOMERS)
    services.place_order(shopper, [(variant.pk, 1)], address=address)

    coupons.claim(shopper, coupon)

    assert held(shopper, coupon) == 1


def test_an_expired_or_inactive_coupon_cannot_be_claimed(shopper, make_coupon):
    now = timezone.now()
    expired = make_coupon(valid_from=now - timedelta(days=9), valid_until=now - timedelta(days=1))
    withdrawn = make_coupon(is_active=False)

    with pytest.raises(coupons.ClaimError, match="expired"):
        coupons.claim(shopper, expired)
    with pytest.raises(coupons.ClaimError, match="no longer offered"):
        coupons.claim(shopper, withdrawn)

    assert not CouponClaim.objects.exists()


def test_a_coupon_not_in_the_centre_cannot_be_claimed_but_staff_can_issue_it(
    shopper, make_coupon, staff
):
    hidden = make_coupon(is_public=False)

    with pytest.raises(coupons.ClaimError, match="not offered in the coupon centre"):
        coupons.claim(shopper, hidden)
    done = coupons.issue(hidden, [shopper], actor=staff)

    claim = CouponClaim.objects.get(user=shopper)
    assert done.issued == 1
    assert (claim.source, claim.issued_by) == (CouponClaim.Source.ISSUED, staff)


def test_a_coupon_valid_days_after_claiming_runs_from_the_claim(shopper, make_coupon):
    coupon = make_coupon(
        validity=Coupon.Validity.AFTER_CLAIM, valid_from=None, valid_until=None, valid_days=7
    )
    then = timezone.now() - timedelta(days=3)

    claim = coupons.claim(shopper, coupon, now=then)

    assert claim.valid_until == then + timedelta(days=7)
    assert claim.state() == CouponClaim.State.USABLE
    assert claim.state(now=then + timedelta(days=7)) == CouponClaim.State.EXPIRED


# Issuing to chosen customers ---------------------------------------------------------


def test_issuing_gives_one_to_each_customer_once_and_skips_those_at_the_limit(
    make_user, make_coupon, staff
):
    coupon = make_coupon(total_quantity=10)
    holder, first, second = make_user("holder"), make_user("first"), make_user("second")
    coupons.claim(holder, coupon)

    done = coupons.issue(coupon, [holder, first, second, first], actor=staff)

    assert (done.issued, done.at_limit) == (2, 1)
    assert [held(u, coupon) for u in (holder, first, second)] == [1, 1, 1]
    coupon.refresh_from_db()
    assert coupon.claimed_count == 3


def test_issuing_more_than_are_left_issues_nothing_and_says_how_many_are_left(
    make_user, make_coupon, staff
):
    coupon = make_coupon(total_quantity=2)
    customers = [make_user(f"c{n}") for n in range(3)]

    with pytest.raises(coupons.SoldOut, match="Only 2 .* not enough for 3 customers"):
        coupons.issue(coupon, customers, actor=staff)

    assert not CouponClaim.objects.exists()
    coupon.refresh_from_db()
    assert coupon.claimed_count == 0


def test_issuing_a_new_customers_coupon_skips_those_who_have_paid(
    shopper, make_user, make_coupon, staff, variant, address
):
    coupon = make_coupon(audience=Coupon.Audience.NEW_CUSTOMERS)
    place_paid(shopper, [(variant, 1)], address)
    newcomer = make_user("newcomer")

    done = coupons.issue(coupon, [shopper, newcomer], actor=staff)

    assert (done.issued, done.not_new) == (1, 1)
    assert (held(shopper, coupon), held(newcomer, coupon)) == (0, 1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"is_active": False}, "no longer offered"),
        ({"valid_until": timezone.now() - timedelta(seconds=1)}, "expired"),
    ],
)
def test_a_closed_coupon_is_not_issued(shopper, make_coupon, staff, change, message):
    coupon = make_coupon(valid_from=timezone.now() - timedelta(days=3), **change)

    with pytest.raises(coupons.ClaimError, match=message):
        coupons.issue(coupon, [shopper], actor=staff)

    assert not CouponClaim.objects.exists()


def test_issuing_needs_staff_and_at_least_one_customer(shopper, make_coupon, staff):
    coupon = make_coupon()

    with pytest.raises(coupons.ClaimError, match="Only staff"):
        coupons.issue(coupon, [shopper], actor=shopper)
    with pytest.raises(coupons.NothingToIssue, match="at least one customer"):
        coupons.issue(coupon, [], actor=staff)

    assert not CouponClaim.objects.exists()


# Issuing by conditions -----------------------------------------------------------------


def test_issuing_by_amount_spent_counts_paid_orders_less_refunds(
    make_user, make_coupon, staff, make_variant, address
):
    wine = make_variant(price="100.00", stock=50)
    big, refunded, unpaid, small = (make_user(n) for n in ("big", "refunded", "unpaid", "small"))
    place_paid(big, [(wine, 2)], address)  # 200.00
    place_paid(big, [(wine, 1)], address)  # 300.00 in all
    refunds.refund_order(place_paid(refunded, [(wine, 3)], address), actor=staff, reason="x")
    services.place_order(unpaid, [(wine.pk, 5)], address=address)
    place_paid(small, [(wine, 2)], address)

    done = coupons.issue_to_matching(make_coupon(), actor=staff, spent_at_least=D("300.00"))

    assert done.issued == 1
    assert list(CouponClaim.objects.values_list("user__username", flat=True)) == ["big"]


def test_issuing_by_recent_paid_orders(make_user, make_coupon, staff, variant, address):
    recent, lapsed, unpaid = make_user("recent"), make_user("lapsed"), make_user("unpaid")
    place_paid(recent, [(variant, 1)], address)
    old = place_paid(lapsed, [(variant, 1)], address)
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    services.place_order(unpaid, [(variant.pk, 1)], address=address)

    coupons.issue_to_matching(make_coupon(), actor=staff, ordered_within_days=30)

    assert list(CouponClaim.objects.values_list("user__username", flat=True)) == ["recent"]


def test_issuing_to_customers_bound_to_a_distributor_now(
    make_user, make_distributor, make_coupon, staff
):
    alice, bob = make_distributor("alice"), make_distributor("bob")
    now = timezone.now()
    bound, ended, lapsed, elsewhere = (make_user(n) for n in ("bound", "ended", "lapsed", "other"))
    CustomerBinding.objects.create(customer=bound, distributor=alice, rule="first")
    CustomerBinding.objects.create(customer=ended, distributor=alice, rule="first", ended_at=now)
    CustomerBinding.objects.create(
        customer=lapsed, distributor=alice, rule="expiring", expires_at=now - timedelta(days=1)
    )
    CustomerBinding.objects.create(customer=elsewhere, distributor=bob, rule="first")

    done = coupons.issue_to_matching(make_coupon(), actor=staff, bound_to=alice)

    assert done.issued == 1
    assert list(CouponClaim.objects.values_list("user__username", flat=True)) == ["bound"]


def test_conditions_must_all_hold(
    make_user, make_distributor, make_coupon, staff, variant, address
):
    alice = make_distributor("alice")
    buyer, bound_buyer = make_user("buyer"), make_user("bound_buyer")
    for user in (buyer, bound_buyer):
        place_paid(user, [(variant, 1)], address)
    CustomerBinding.objects.create(customer=bound_buyer, distributor=alice, rule="first")

    coupons.issue_to_matching(make_coupon(), actor=staff, ordered_within_days=7, bound_to=alice)

    assert list(CouponClaim.objects.values_list("user__username", flat=True)) == ["bound_buyer"]


@pytest.mark.parametrize(
    ("conditions", "error", "field"),
    [
        ({}, coupons.NothingToIssue, "users"),
        ({"spent_at_least": D("0.00")}, coupons.BadCondition, "spent_at_least"),
        ({"spent_at_least": D("-5")}, coupons.BadCondition, "spent_at_least"),
        ({"ordered_within_days": 0}, coupons.BadCondition, "ordered_within_days"),
        ({"spent_at_least": D("1000000")}, coupons.NothingToIssue, "users"),
    ],
)
def test_bad_conditions_are_refused_with_the_reason_and_change_nothing(
    shopper, make_coupon, staff, variant, address, conditions, error, field
):
    place_paid(shopper, [(variant, 1)], address)
    coupon = make_coupon()

    with pytest.raises(error) as refused:
        coupons.issue_to_matching(coupon, actor=staff, **conditions)

    assert refused.value.field == field and str(refused.value)
    assert not CouponClaim.objects.exists()
    coupon.refresh_from_db()
    assert coupon.claimed_count == 0


def test_issuing_by_conditions_respects_the_quantity(
    make_user, make_distributor, make_coupon, staff
):
    alice = make_distributor("alice")
    for n in range(3):
        CustomerBinding.objects.create(customer=make_user(f"c{n}"), distributor=alice, rule="first")
    coupon = make_coupon(total_quantity=2)

    with pytest.raises(coupons.SoldOut, match="not enough for 3"):
        coupons.issue_to_matching(coupon, actor=staff, bound_to=alice)

    assert not CouponClaim.objects.exists()
