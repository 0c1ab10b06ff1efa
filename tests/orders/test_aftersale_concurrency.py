"""After-sale races on real concurrent PostgreSQL connections."""

from decimal import Decimal

import pytest

from orders import aftersale, services
from orders.models import AfterSaleRequest, Order, TrackingEvent
from payments.models import Refund
from tests.test_concurrency import run_at_once

from .aftersale_helpers import place_paid, ship

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_ten_concurrent_approvals_refund_once(shopper, make_variant, address, admin_user):
    order = place_paid(shopper, [(make_variant(price="30.00"), 2)], address)
    request = aftersale.request_refund(
        order, user=shopper, kind="lines", reason="damaged", quantities={order.lines.get().pk: 1}
    )

    results = run_at_once(lambda _: aftersale.approve(request, actor=admin_user), range(10))

    assert sum(isinstance(r, AfterSaleRequest) for r in results) == 1
    assert all(isinstance(r, (AfterSaleRequest, aftersale.AfterSaleError)) for r in results)
    assert Refund.objects.count() == 1
    order.refresh_from_db()
    assert order.refunded_total == Decimal("30.00")
    assert order.events.filter(to_status="partially_refunded").count() == 1


def test_concurrent_requests_open_one(shopper, make_variant, address):
    order = place_paid(shopper, [(make_variant(price="30.00"), 2)], address)

    results = run_at_once(
        lambda _: aftersale.request_refund(order, user=shopper, kind="whole", reason="damaged"),
        range(8),
    )

    assert sum(isinstance(r, AfterSaleRequest) for r in results) == 1
    assert AfterSaleRequest.objects.count() == 1


def test_concurrent_polls_store_each_step_once_and_deliver_once(
    shopper, variant, address, admin_user
):
    ship(place_paid(shopper, [(variant, 1)], address), admin_user, days_ago=2)

    results = run_at_once(lambda _: services.poll_tracking(), range(6))

    assert sum(results) == 4, results  # the pickup step was stored right after shipping
    assert TrackingEvent.objects.count() == 5
    order = Order.objects.get()
    assert order.events.filter(to_status="delivered").count() == 1
