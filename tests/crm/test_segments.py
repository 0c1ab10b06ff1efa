"""Customer figures and segments: the rule at each threshold's edge, and the refresh
that applies it to every customer from their orders."""

from datetime import timedelta
from decimal import Decimal
from functools import partial
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm import segments, tasks
from crm.models import CustomerProfile, Segment, SegmentSettings
from crm.segments import Figures, segment_of
from orders.models import Order

D = Decimal
NOW = timezone.now()
RULES = SegmentSettings()  # the defaults: new 30 d, at risk 90 d, dormant 180 d, ¥3000 over 3
SECOND = timedelta(seconds=1)


def figures(*, orders=1, paid="100.00", refunded="0.00", first_days=10, last_days=None):
    """A customer's figures whose first and last paid orders are that many days old."""
    first = NOW - timedelta(days=first_days)
    last = NOW - timedelta(days=first_days if last_days is None else last_days)
    return Figures(
        orders_count=orders,
        total_paid=D(paid),
        total_refunded=D(refunded),
        first_order_at=first,
        last_order_at=last,
    )


def at(fig: Figures, *, last_age: timedelta) -> Figures:
    """`fig` with its last order exactly `last_age` old."""
    return Figures(
        orders_count=fig.orders_count,
        total_paid=fig.total_paid,
        total_refunded=fig.total_refunded,
        first_order_at=min(fig.first_order_at, NOW - last_age),
        last_order_at=NOW - last_age,
    )


# --- the rule, edge by edge ---------------------------------------------------------


def test_a_customer_who_never_paid_is_a_prospect():
    assert segment_of(Figures(), RULES, NOW) == Segment.PROSPECT


@pytest.mark.parametrize(
    ("last_age", "expected"),
    [
        (timedelta(days=180), Segment.DORMANT),
        (timedelta(days=180) - SECOND, Segment.AT_RISK),
        (timedelta(days=90), Segment.AT_RISK),
        (timedelta(days=90) - SECOND, Segment.ACTIVE),
    ],
)
def test_an_order_exactly_n_days_old_counts_as_no_order_for_n_days(last_age, expected):
    fig = at(figures(first_days=400), last_age=last_age)

    assert segment_of(fig, RULES, NOW) == expected


@pytest.mark.parametrize(
    ("paid", "refunded", "orders", "expected"),
    [
        ("3000.00", "0.00", 3, Segment.HIGH_VALUE),  # both thresholds met exactly
        ("2999.99", "0.00", 3, Segment.ACTIVE),  # a fen short
        ("3000.00", "0.00", 2, Segment.ACTIVE),  # an order short
        ("3100.00", "100.00", 3, Segment.HIGH_VALUE),  # kept exactly 3000
        ("3100.00", "100.01", 3, Segment.ACTIVE),  # a refund takes them below
    ],
)
def test_high_value_needs_both_the_amount_kept_and_the_orders(paid, refunded, orders, expected):
    fig = figures(orders=orders, paid=paid, refunded=refunded, first_days=60, last_days=5)

    assert segment_of(fig, RULES, NOW) == expected


@pytest.mark.parametrize(
    ("first_age", "expected"),
    [
        (timedelta(days=30) - SECOND, Segment.NEW),
        (timedelta(days=30), Segment.ACTIVE),
    ],
)
def test_new_means_a_first_order_younger_than_new_days(first_age, expected):
    fig = Figures(
        orders_count=1,
        total_paid=D("100.00"),
        total_refunded=D("0.00"),
        first_order_at=NOW - first_age,
        last_order_at=NOW - first_age,
    )

    assert segment_of(fig, RULES, NOW) == expected


def test_recency_comes_before_value_and_value_before_newness():
    big = {"orders": 5, "paid": "9000.00"}

    assert segment_of(figures(**big, first_days=200), RULES, NOW) == Segment.DORMANT
    assert segment_of(figures(**big, first_days=100), RULES, NOW) == Segment.AT_RISK
    assert segment_of(figures(**big, first_days=2), RULES, NOW) == Segment.HIGH_VALUE


def test_the_merchants_thresholds_decide():
    rules = SegmentSettings(at_risk_days=10, dormant_days=20, new_days=5)
    fig = figures(first_days=12)

    assert segment_of(fig, rules, NOW) == Segment.AT_RISK
    assert segment_of(fig, RULES, NOW) == Segment.NEW


# --- the refresh ----------------------------------------------------------------------


@pytest.fixture
def rules(db):
    return SegmentSettings.get_solo()


@pytest.fixture
def make_order(make_order):
    """Orders paid so many days before NOW, the moment these refreshes run at."""
    return partial(make_order, now=NOW)


def test_refresh_counts_paid_orders_and_their_refunds_never_unpaid_ones(rules, shopper, make_order):
    # given
    make_order(shopper, "100.00", paid_days_ago=40, refunded="30.00", status="partially_refunded")
    make_order(shopper, "200.00", paid_days_ago=5, status="completed")
    make_order(shopper, "50.00", paid_days_ago=20, refunded="50.00", status="refunded")
    make_order(shopper, "500.00", status=Order.Status.CANCELLED)  # cancelled unpaid
    make_order(shopper, "800.00")  # awaiting payment

    # when
    segments.refresh_profiles(now=NOW)

    # then
    profile = CustomerProfile.objects.get(user=shopper)
    assert profile.orders_count == 3
    assert profile.total_paid == D("350.00")
    assert profile.total_refunded == D("80.00")
    assert profile.total_spent == D("270.00")
    assert profile.first_order_at == NOW - timedelta(days=40)
    assert profile.last_order_at == NOW - timedelta(days=5)
    assert profile.segment == Segment.ACTIVE
    assert profile.computed_at == NOW


def test_every_user_gets_a_profile_those_who_never_paid_as_prospects(rules, make_user, make_order):
    buyer, looker = make_user("buyer"), make_user("looker")
    make_order(buyer, "100.00", paid_days_ago=1)
    make_order(looker, "100.00", status=Order.Status.CANCELLED)

    written = segments.refresh_profiles(now=NOW)

    assert written == 2
    assert CustomerProfile.objects.get(user=buyer).segment == Segment.NEW
    looker_profile = CustomerProfile.objects.get(user=looker)
    assert (looker_profile.segment, looker_profile.orders_count) == (Segment.PROSPECT, 0)


def test_refreshing_again_changes_nothing_and_keeps_segment_since(rules, shopper, make_order):
    make_order(shopper, "100.00", paid_days_ago=1)
    segments.refresh_profiles(now=NOW)
    since = CustomerProfile.objects.get(user=shopper).segment_since

    later = NOW + timedelta(hours=6)
    assert segments.refresh_profiles(now=later) == 0

    profile = CustomerProfile.objects.get(user=shopper)
    assert (profile.segment, profile.segment_since) == (Segment.NEW, since)
    assert profile.computed_at == later


def test_segment_since_moves_only_when_the_segment_changes(rules, shopper, make_order):
    make_order(shopper, "100.00", paid_days_ago=1)
    segments.refresh_profiles(now=NOW)
    first_since = CustomerProfile.objects.get(user=shopper).segment_since

    # a second order: the figures change, the customer stays NEW
    make_order(shopper, "80.00", paid_days_ago=0)
    segments.refresh_profiles(now=NOW + timedelta(days=1))
    profile = CustomerProfile.objects.get(user=shopper)
    assert (profile.orders_count, profile.segment_since) == (2, first_since)

    # no order for 90 days: at risk from that refresh on
    at_risk = NOW + timedelta(days=91)
    segments.refresh_profiles(now=at_risk)
    profile = CustomerProfile.objects.get(user=shopper)
    assert (profile.segment, profile.segment_since) == (Segment.AT_RISK, at_risk)


def test_refreshing_some_customers_leaves_the_others(rules, make_user, make_order):
    one, other = make_user("one"), make_user("other")

    segments.refresh_profiles(user_ids=[one.pk, 999_999], now=NOW)

    assert list(CustomerProfile.objects.values_list("user__username", flat=True)) == ["one"]
    assert not CustomerProfile.objects.filter(user=other).exists()


def _queries_of_refresh(**kwargs) -> int:
    with CaptureQueriesContext(connection) as ctx:
        segments.refresh_profiles(now=NOW, **kwargs)
    return len(ctx.captured_queries)


def test_a_refresh_costs_the_same_queries_whatever_the_customers_bought(
    rules, make_user, make_order
):
    users = [make_user(f"c{n}") for n in range(6)]
    few = _queries_of_refresh(batch_size=3)  # 2 batches, all created
    for user in users:
        for days in range(5):
            make_order(user, "120.00", paid_days_ago=days)

    many = _queries_of_refresh(batch_size=3)  # 2 batches, all changed

    assert many == few  # bulk updates instead of inserts; not one query per order
    # settings, a count, the last (empty) page of ids, and 7 statements per batch
    assert many <= 3 + 2 * 7


def test_queries_grow_with_batches_not_with_customers(rules, make_user):
    for n in range(4):
        make_user(f"c{n}")
    four = _queries_of_refresh(batch_size=100)
    for n in range(4, 40):
        make_user(f"c{n}")

    forty = _queries_of_refresh(batch_size=100)

    assert forty <= four + 1


def test_the_command_reports_each_batch(rules, make_user):
    for n in range(5):
        make_user(f"c{n}")
    out = StringIO()

    call_command("refresh_customers", "--batch-size", "2", stdout=out)

    lines = out.getvalue().splitlines()
    assert [line.split(" ")[0] for line in lines[:3]] == ["[1/3]", "[2/3]", "[3/3]"]
    assert "5 profiles created or changed" in lines[-1]
    assert CustomerProfile.objects.count() == 5


def test_the_nightly_task_refreshes_every_range_of_users(rules, make_user, make_order, monkeypatch):
    monkeypatch.setattr(tasks, "RANGE_SIZE", 2)
    users = [make_user(f"c{n}") for n in range(5)]
    make_order(users[3], "100.00", paid_days_ago=100)

    scheduled = tasks.refresh_customer_profiles.delay().get()

    assert scheduled == 3
    assert CustomerProfile.objects.count() == 5
    assert CustomerProfile.objects.get(user=users[3]).segment == Segment.AT_RISK
    # a redelivered range writes nothing more
    assert tasks.refresh_customer_range(users[0].pk, users[-1].pk) == 0


def test_user_id_ranges_cover_every_user_once(make_user):
    ids = [make_user(f"c{n}").pk for n in range(5)]

    ranges = segments.user_id_ranges(2)

    assert ranges == [(ids[0], ids[1]), (ids[2], ids[3]), (ids[4], ids[4])]
