"""Reads of the customer record: one customer's overview, and the customers a saved
segment stands for."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import segments, selectors
from crm.models import CustomerNote, CustomerProfile, SavedSegment, Segment, Tag
from distributors.models import CustomerBinding
from marketing import coupons
from orders.models import AfterSaleRequest

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def alice(make_distributor):
    return make_distributor("alice")


def rich_customer(user, *, orders, make_order, make_coupon, alice, author):
    """A customer with `orders` paid orders, a refund request, two bindings (one in
    force), coupons used, usable and expired, a tag and notes."""
    now = timezone.now()
    placed = [make_order(user, "100.00", paid_days_ago=n) for n in range(orders)]
    AfterSaleRequest.objects.create(
        order=placed[0],
        kind=AfterSaleRequest.Kind.WHOLE_ORDER,
        reason=AfterSaleRequest.Reason.DAMAGED,
        goods_amount=D("100.00"),
        amount=D("100.00"),
        requested_by=user,
    )
    CustomerBinding.objects.create(
        customer=user,
        distributor=alice,
        rule="first",
        bound_at=now - timedelta(days=60),
        ended_at=now - timedelta(days=30),
    )
    CustomerBinding.objects.create(
        customer=user, distributor=alice, rule="first", bound_at=now - timedelta(days=30)
    )
    for n in range(3):
        coupons.claim(user, make_coupon(name=f"券{n}-{user.pk}", is_public=True))
    segments.refresh_profiles(user_ids=[user.pk])
    tag = Tag.objects.create(name=f"酒店{user.pk}")
    CustomerProfile.objects.get(user=user).tags.add(tag)
    for n in range(3):
        CustomerNote.objects.create(customer=user, author=author, body=f"note {n}")
    return placed


def test_the_overview_shows_figures_orders_refunds_binding_coupons_tags_and_notes(
    shopper, admin_user, make_order, make_coupon, alice
):
    rich_customer(
        shopper,
        orders=3,
        make_order=make_order,
        make_coupon=make_coupon,
        alice=alice,
        author=admin_user,
    )

    overview = selectors.customer_overview(shopper)

    assert overview.profile.orders_count == 3
    assert overview.average_order_value == D("100.00")
    assert len(overview.recent_orders) == 3
    assert [r.get_reason_display() for r in overview.after_sales] == ["Damaged or defective"]
    assert overview.binding.distributor == alice and overview.binding.ended_at is None
    assert [b.ended_at is not None for b in overview.past_bindings] == [True]
    assert overview.coupon_counts == {"usable": 3, "used": 0, "expired": 0}
    assert {claim.state_now for claim in overview.coupons} == {"usable"}
    assert [tag.name for tag in overview.tags] == [f"酒店{shopper.pk}"]
    assert [note.body for note in overview.notes] == ["note 2", "note 1", "note 0"]


def test_an_open_binding_that_expired_is_no_longer_in_force(shopper, alice):
    now = timezone.now()
    CustomerBinding.objects.create(
        customer=shopper,
        distributor=alice,
        rule="expiring",
        bound_at=now - timedelta(days=40),
        expires_at=now - timedelta(days=10),
    )

    overview = selectors.customer_overview(shopper)

    assert overview.binding is None
    assert len(overview.past_bindings) == 1


def test_the_overview_takes_the_same_queries_for_a_small_and_a_big_customer(
    make_user, admin_user, make_order, make_coupon, alice, django_assert_num_queries
):
    small, big = make_user("small"), make_user("big")
    for user, orders in ((small, 1), (big, 30)):
        rich_customer(
            user,
            orders=orders,
            make_order=make_order,
            make_coupon=make_coupon,
            alice=alice,
            author=admin_user,
        )

    for user in (small, big):
        with django_assert_num_queries(8):
            overview = selectors.customer_overview(user)
    assert len(overview.recent_orders) == selectors.RECENT_ORDERS


# --- saved segments -----------------------------------------------------------------


@pytest.fixture
def customers(make_user, make_order, alice):
    """ann: high value, bound to alice, tagged 酒店; ben: new; cat: dormant; dan: never paid."""
    ann, ben, cat, dan = (make_user(name) for name in ("ann", "ben", "cat", "dan"))
    for days in (3, 10, 20):
        make_order(ann, "1200.00", paid_days_ago=days)
    make_order(ben, "100.00", paid_days_ago=2)
    make_order(cat, "900.00", paid_days_ago=300, refunded="100.00", status="partially_refunded")
    CustomerBinding.objects.create(customer=ann, distributor=alice, rule="first")
    segments.refresh_profiles()
    hotel = Tag.objects.create(name="酒店")
    CustomerProfile.objects.get(user=ann).tags.add(hotel)
    return {"ann": ann, "ben": ben, "cat": cat, "dan": dan, "hotel": hotel}


def names(saved) -> list[str]:
    return [user.username for user in selectors.matching_customers(saved)]


def saved_segment(tags=(), **fields) -> SavedSegment:
    saved = SavedSegment.objects.create(name=f"s{SavedSegment.objects.count()}", **fields)
    saved.tags.set(tags)
    return saved


def test_a_saved_segment_without_conditions_is_every_customer(customers, admin_user):
    # alice (the distributor) is a customer too; admin signed up after the refresh
    assert names(saved_segment()) == ["alice", "ann", "ben", "cat", "dan"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"segments": [Segment.NEW, Segment.DORMANT]}, ["ben", "cat"]),
        ({"min_spent": D("800.00")}, ["ann", "cat"]),  # cat kept exactly 800
        ({"min_spent": D("800.01")}, ["ann"]),
        ({"min_orders": 2}, ["ann"]),
        ({"ordered_within_days": 30}, ["ann", "ben"]),
        ({"segments": [Segment.HIGH_VALUE], "min_orders": 4}, []),  # every condition holds
    ],
)
def test_a_saved_segment_matches_on_every_condition_it_sets(customers, fields, expected):
    assert names(saved_segment(**fields)) == expected


def test_a_saved_segment_matches_any_of_its_tags_and_a_binding_in_force(customers, alice):
    other = Tag.objects.create(name="团购")

    assert names(saved_segment(tags=[customers["hotel"], other])) == ["ann"]
    assert names(saved_segment(bound_to=alice)) == ["ann"]
    CustomerBinding.objects.filter(customer=customers["ann"]).update(ended_at=timezone.now())
    assert names(saved_segment(bound_to=alice)) == []


def test_disabled_accounts_are_left_out(customers):
    customers["ben"].is_active = False
    customers["ben"].save()

    assert "ben" not in names(saved_segment())


def test_export_rows_give_the_figures_and_the_bound_distributor(customers):
    rows = list(selectors.export_rows(CustomerProfile.objects.filter(user=customers["ann"])))

    assert rows[0]["username"] == "ann"
    assert rows[0]["segment"] == "High value"
    assert (rows[0]["orders"], rows[0]["spent"]) == (3, D("3600.00"))
    assert rows[0]["bound_distributor"] == "alice"
    assert rows[0]["tags"] == "酒店"


def test_the_counts_of_saved_segments_are_their_customers_in_one_query(
    customers, alice, django_assert_num_queries
):
    saved = [
        saved_segment(),
        saved_segment(segments=[Segment.NEW, Segment.DORMANT]),
        saved_segment(min_spent=D("800.00"), ordered_within_days=30),
        saved_segment(tags=[customers["hotel"]], bound_to=alice),
        saved_segment(min_orders=4),
    ]
    saved = list(SavedSegment.objects.filter(pk__in=[s.pk for s in saved]).prefetch_related("tags"))

    with django_assert_num_queries(1):
        counts = selectors.customer_counts(saved)

    assert counts == {s.pk: len(names(s)) for s in saved}
    assert list(counts.values()) == [5, 2, 1, 1, 0]


def test_the_customers_of_several_saved_segments_are_each_there_once(customers):
    high = saved_segment(min_spent=D("800.00"))  # ann, cat
    recent = saved_segment(ordered_within_days=30)  # ann, ben

    users = selectors.customers_of_any([high, recent])

    assert [user.username for user in users] == ["ann", "ben", "cat"]
    assert list(selectors.customers_of_any([])) == []
