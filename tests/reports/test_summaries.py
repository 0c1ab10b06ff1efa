"""Daily summaries equal a direct recomputation from the records, day by day."""

import random
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commissions import withdrawals
from commissions.models import CommissionPlan, LedgerEntry
from commissions.services import accrue_commissions, release_order_commissions
from core.days import day_bounds
from distributors.models import Distributor
from orders import refunds
from orders import services as order_services
from orders.models import Order
from payments.models import Payment, Refund
from reports import summaries
from reports.models import DailySummary, DistributorDay, ProductDay
from tests.commissions.helpers import withdraw

pytestmark = pytest.mark.django_db

DAYS = 4


@pytest.fixture
def history(chain, make_user, make_variant, address, admin_user):
    """Forty orders over the last four days: direct, through one tier and through three,
    paid or left unpaid or cancelled, some refunded in full, some shipped and completed;
    their commissions accrued, some released and withdrawn."""
    rng = random.Random(11)
    alice, bob, carol = chain
    variants = [make_variant(price=price, stock=500) for price in ("39.00", "128.00", "1299.00")]
    buyers = [make_user(f"buyer{n}") for n in range(8)]
    today = timezone.localdate()
    for _ in range(40):
        lines = [(v.pk, rng.randint(1, 3)) for v in rng.sample(variants, rng.randint(1, 2))]
        via = rng.choice([None, alice, carol])
        order = order_services.place_order(
            rng.choice(buyers),
            lines,
            address=address,
            referral_code=via.invite_code if via else None,
        )
        day = today - timedelta(days=rng.randrange(DAYS))
        at = timezone.make_aware(
            timezone.datetime.combine(day, timezone.datetime.min.time())
        ) + timedelta(hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
        fate = rng.random()
        if fate < 0.15:
            Order.objects.filter(pk=order.pk).update(created_at=at)
            continue  # left unpaid
        if fate < 0.25:
            order_services.cancel_order(order, actor=None)
            Order.objects.filter(pk=order.pk).update(created_at=at, closed_at=at)
            continue
        order_services.mark_paid(order)
        Payment.objects.create(
            order=order, gateway="sandbox", amount=order.total, status="succeeded"
        )
        accrue_commissions(order.pk)
        Order.objects.filter(pk=order.pk).update(created_at=at, paid_at=at)
        if fate < 0.4:
            refunds.refund_order(order, actor=admin_user, reason="broken bottle")
        elif fate < 0.7:
            order_services.ship_order(order, carrier="SF", tracking_number="SF1", actor=admin_user)
            order_services.complete_order(order, actor=admin_user)
            release_order_commissions(order.pk)
            done = at + timedelta(hours=2)
            Order.objects.filter(pk=order.pk).update(completed_at=done)
    CommissionPlan.objects.filter(is_active=True).update(min_withdrawal=Decimal("1.00"))
    withdrawals.approve_withdrawal(
        withdraw(carol, "5.00"), reviewer=admin_user, payout_reference="A1"
    )
    return today


def recomputed(day):
    """The day's figures the slow, obvious way: every record read and tested in Python."""
    since, until = day_bounds(day)

    def on(moment):
        return moment is not None and since <= moment < until

    figures = defaultdict(lambda: Decimal("0"))
    products = defaultdict(lambda: [set(), 0, Decimal("0")])
    by_distributor = defaultdict(lambda: [0, Decimal("0"), Decimal("0")])
    payers = set()
    first_paid = {}
    for order in Order.objects.all():
        if order.paid_at:
            first = first_paid.get(order.user_id)
            first_paid[order.user_id] = min(first, order.paid_at) if first else order.paid_at
        figures["orders_placed"] += on(order.created_at)
        figures["orders_completed"] += on(order.completed_at)
        figures["orders_cancelled"] += on(order.closed_at) and order.status == "cancelled"
        if not on(order.paid_at):
            continue
        figures["paid_orders"] += 1
        figures["gmv"] += order.total
        figures["paid_goods"] += order.subtotal
        payers.add(order.user_id)
        if order.distributor_id is None:
            figures["direct_sales"] += order.subtotal
        else:
            tier = "multi_tier_sales" if len(order.referral_chain) > 1 else "single_tier_sales"
            figures[tier] += order.subtotal
            by_distributor[order.distributor_id][0] += 1
            by_distributor[order.distributor_id][1] += order.subtotal
        for line in order.lines.select_related("variant"):
            if not line.is_gift:
                row = products[line.variant.product_id]
                row[0].add(order.pk)
                row[1] += line.quantity
                row[2] += line.paid_amount
    figures["paying_customers"] = len(payers)
    figures["new_customers"] = sum(on(first) for first in first_paid.values())
    for refund in Refund.objects.filter(status="succeeded"):
        if on(refund.succeeded_at):
            figures["refunds"] += refund.amount
            figures["refund_count"] += 1
    figures["new_distributors"] = sum(on(d.joined_at) for d in Distributor.objects.all())
    for entry in LedgerEntry.objects.all():
        if not on(entry.created_at):
            continue
        if entry.kind == "accrued":
            figures["commissions_accrued"] += entry.pending
            by_distributor[entry.distributor_id][2] += entry.pending
        elif entry.kind == "reversed":
            figures["commissions_reversed"] -= entry.pending + entry.available
        elif entry.kind == "withdrawal_paid":
            figures["commissions_paid"] -= entry.held
    return (
        dict(figures),
        {pk: (len(r[0]), r[1], r[2]) for pk, r in products.items()},
        {pk: tuple(r) for pk, r in by_distributor.items()},
    )


def stored(day):
    summary = DailySummary.objects.get(day=day)
    names = [*summaries.ADDITIVE_FIELDS, "paying_customers"]
    figures = {name: getattr(summary, name) for name in names if getattr(summary, name)}
    products = {
        row.product_id: (row.orders, row.units, row.sales)
        for row in ProductDay.objects.filter(day=day)
    }
    distributors = {
        row.distributor_id: (row.orders, row.sales, row.commissions)
        for row in DistributorDay.objects.filter(day=day)
    }
    return figures, products, distributors


def test_every_days_summary_equals_a_recomputation_from_the_records(history):
    # when the four days are rebuilt
    summaries.rebuild_range(history - timedelta(days=DAYS - 1), history)

    # then each day's stored rows are what the records say, figure by figure
    for back in range(DAYS):
        day = history - timedelta(days=back)
        figures, products, distributors = recomputed(day)
        assert stored(day) == ({k: v for k, v in figures.items() if v}, products, distributors)
    # and the history held every kind of figure
    totals = summaries.add_up(DailySummary.objects.all())
    for name in (
        "direct_sales",
        "single_tier_sales",
        "multi_tier_sales",
        "refunds",
        "commissions_reversed",
        "commissions_paid",
        "orders_completed",
        "orders_cancelled",
        "new_customers",
    ):
        assert totals[name] > 0, name
    assert DailySummary.objects.filter(paid_orders__gt=0).count() == DAYS


def test_a_rebuild_replaces_the_days_rows_instead_of_adding_to_them(history):
    summaries.rebuild_day(history)
    first = stored(history)

    summaries.rebuild_day(history)

    assert stored(history) == first
    assert DailySummary.objects.filter(day=history).count() == 1


def test_a_day_is_computed_in_a_fixed_number_of_queries(
    history, django_assert_num_queries, make_user, variant, address
):
    with django_assert_num_queries(7):
        summaries.compute_day(history)
    for n in range(5):
        order = order_services.place_order(
            make_user(f"more{n}"), [(variant.pk, 1)], address=address
        )
        order_services.mark_paid(order)
    with django_assert_num_queries(7):
        summaries.compute_day(history)


def test_an_order_paid_a_moment_ago_is_in_todays_live_figures(shopper, variant, address):
    before = summaries.compute_day(timezone.localdate()).summary.gmv
    order = order_services.place_order(shopper, [(variant.pk, 2)], address=address)
    order_services.mark_paid(order)

    assert summaries.compute_day(timezone.localdate()).summary.gmv == before + order.total


def test_a_range_is_rebuilt_one_task_a_day_and_never_past_today(
    shopper, variant, address, django_capture_on_commit_callbacks
):
    from reports import tasks

    order = order_services.place_order(shopper, [(variant.pk, 1)], address=address)
    order_services.mark_paid(order)
    today = timezone.localdate()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        queued = tasks.schedule_rebuild(today - timedelta(days=2), today + timedelta(days=3))

    assert queued == len(callbacks) == 3
    assert set(DailySummary.objects.values_list("day", flat=True)) == {
        today - timedelta(days=n) for n in range(3)
    }
    assert DailySummary.objects.get(day=today).gmv == order.total
    assert tasks.schedule_rebuild(today, today - timedelta(days=1)) == 0


def test_the_command_rebuilds_from_the_first_orders_day_to_today(shopper, variant, address):
    from io import StringIO

    from django.core.management import call_command

    order = order_services.place_order(shopper, [(variant.pk, 1)], address=address)
    order_services.mark_paid(order)
    today = timezone.localdate()
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=2))
    out = StringIO()

    call_command("rebuild_summaries", stdout=out)

    assert DailySummary.objects.count() == 3
    assert DailySummary.objects.get(day=today).paid_orders == 1
    assert "3 days rebuilt" in out.getvalue()
