"""benchmarks.dashboard at a tiny size, so the benchmark cannot rot: its SQL seed
matches the models, the summaries rebuild over it, and /admin/ renders for it."""

import pytest
from django.db.models import Count, F, Sum

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def tiny_shop():
    from benchmarks import dashboard

    return dashboard.seed(600, 40, shoppers=90, products=8, days=20, busy=60)


def test_seeded_orders_add_up_like_real_ones(tiny_shop):
    from commissions.models import Commission, LedgerEntry
    from orders.models import Order, OrderLine
    from payments.models import Refund

    assert Order.objects.count() == 600
    lines = OrderLine.objects.values("order").annotate(paid=Sum("paid_amount"), n=Count("pk"))
    assert all(1 <= row["n"] <= 3 for row in lines)
    by_order = {row["order"]: row["paid"] for row in lines}
    for pk, subtotal in Order.objects.values_list("pk", "subtotal"):
        assert by_order[pk] == subtotal
    assert not Order.objects.exclude(total=F("subtotal") + F("shipping_fee")).exists()
    assert (
        Order.objects.filter(paid_at__isnull=True)
        .exclude(status__in=[Order.Status.PENDING_PAYMENT, Order.Status.CANCELLED])
        .count()
        == 0
    )
    refunded = Order.objects.filter(refunded_total__gt=0).aggregate(s=Sum("refunded_total"))["s"]
    assert Refund.objects.aggregate(s=Sum("amount"))["s"] == refunded
    # Every commission's ledger: accrued, then released or reversed, never more.
    accrued = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ACCRUED)
    assert accrued.count() == Commission.objects.count() > 0


def test_the_busy_day_rebuilds_and_the_admin_home_renders(tiny_shop):
    from benchmarks import dashboard
    from reports.models import DailySummary

    summaries = dashboard.build_summaries(tiny_shop, days=5)
    rows = dashboard.measure(tiny_shop, repeat=2, warmups=1)

    assert summaries["summary_day_paid_orders"] >= 60
    assert DailySummary.objects.count() == 1 + 5
    assert [row["step"] for row in rows][0] == "/admin/ (default)"
    assert all(row["queries"] > 0 and row["n"] == 2 for row in rows)
