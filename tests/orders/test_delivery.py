from datetime import timedelta

import pytest
from django.utils import timezone, translation

from config import celery_app
from core.models import OutboxMessage
from orders import services
from orders.models import Order, Shipment, TrackingEvent
from orders.tracking import carriers, get_adapter
from orders.tracking.sandbox import SandboxCarrier

from .aftersale_helpers import place_paid, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(shopper, variant, address):
    return place_paid(shopper, [(variant, 1)], address)


def test_shipping_creates_the_shipment_and_records_who(paid, admin_user):
    order = ship(paid, admin_user, carrier="顺丰", tracking_number="SF123")
    shipment = Shipment.objects.get(order=order)
    assert (shipment.carrier, shipment.tracking_number) == ("shunfeng", "SF123")
    assert order.status == Order.Status.SHIPPED
    assert order.events.get(to_status="shipped").actor == admin_user


@pytest.mark.parametrize("typed", ["SF", "顺丰", "顺丰速运", " sf express ", "shunfeng"])
def test_a_carrier_is_stored_by_its_code_whatever_name_staff_typed(paid, admin_user, typed):
    order = ship(paid, admin_user, carrier=typed)
    assert order.carrier == order.shipment.carrier == "shunfeng"
    with translation.override("en"):
        assert order.shipment.carrier_name == "SF Express"


def test_an_unknown_carrier_is_refused_with_the_list_of_carriers(paid, admin_user):
    with translation.override("en"), pytest.raises(services.UnknownCarrier) as refused:
        services.ship_order(paid, carrier="乌龟快递", tracking_number="X1", actor=admin_user)
    assert "乌龟快递" in str(refused.value) and "ZTO Express" in str(refused.value)
    assert not Shipment.objects.filter(order=paid).exists()


def test_the_sandbox_carrier_exists_only_on_a_demo_site(paid, admin_user, settings):
    settings.DEMO_SITE = False
    assert "sandbox" not in dict(carriers.choices())
    with pytest.raises(services.UnknownCarrier):
        services.ship_order(paid, carrier="sandbox", tracking_number="SBX1", actor=admin_user)


def test_an_old_free_text_carrier_reads_as_it_was_typed():
    assert Shipment(carrier="德邦物流", tracking_number="1").carrier_name == "德邦物流"


def test_shipping_a_tracked_carrier_enqueues_its_first_poll(paid, admin_user):
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False  # through the outbox, as in production
    try:
        order = ship(paid, admin_user, carrier="sandbox")
    finally:
        celery_app.conf.task_always_eager = saved
    message = OutboxMessage.objects.get(task="orders.tasks.start_tracking")
    assert message.args == [order.shipment.pk]


def test_the_page_shows_the_first_step_right_after_shipping(
    paid, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.ship_order(paid, carrier="sandbox", tracking_number="SBX7", actor=admin_user)
    shipment = Shipment.objects.get(order=paid)
    assert [e.description for e in shipment.events.all()] == ["快件已揽收"]
    assert shipment.last_polled_at is not None


def test_an_untracked_carrier_enqueues_nothing(paid, admin_user):
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        ship(paid, admin_user, carrier="顺丰")
    finally:
        celery_app.conf.task_always_eager = saved
    assert not OutboxMessage.objects.filter(task="orders.tasks.start_tracking").exists()


def test_shipping_twice_or_a_cancelled_order_is_refused_and_changes_nothing(
    paid, admin_user, shopper, variant, address
):
    ship(paid, admin_user)
    with pytest.raises(services.InvalidTransition):
        services.ship_order(paid, carrier="sandbox", tracking_number="OTHER", actor=admin_user)
    assert Shipment.objects.get(order=paid).tracking_number == "SBX100"

    unpaid = services.place_order(shopper, [(variant.pk, 1)], address=address)
    services.cancel_order(unpaid)
    with pytest.raises(services.InvalidTransition):
        services.ship_order(unpaid, carrier="sandbox", tracking_number="X", actor=admin_user)
    assert not Shipment.objects.filter(order=unpaid).exists()


def test_the_sandbox_carrier_tells_a_journey_that_moves_with_the_clock(paid, admin_user):
    order = ship(paid, admin_user, days_ago=0)
    shipment = order.shipment
    assert [u.description for u in SandboxCarrier().fetch_events(shipment)] == ["快件已揽收"]

    shipment.shipped_at = timezone.now() - timedelta(hours=20)
    updates = SandboxCarrier().fetch_events(shipment)
    assert len(updates) == 3 and not any(u.delivered for u in updates)
    assert updates == SandboxCarrier().fetch_events(shipment)  # deterministic

    shipment.shipped_at = timezone.now() - timedelta(days=2)
    assert SandboxCarrier().fetch_events(shipment)[-1].delivered


def test_polling_stores_each_step_once_and_marks_the_order_delivered(paid, admin_user):
    order = ship(paid, admin_user, days_ago=2)

    assert services.poll_tracking() == 5
    assert services.poll_tracking() == 0  # polling again stores nothing twice

    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert order.delivered_at == order.shipment.delivered_at < timezone.now() - timedelta(hours=1)
    assert order.received_at is None  # the carrier delivered; the shopper did not confirm
    assert TrackingEvent.objects.filter(source="carrier").count() == 5
    assert order.events.filter(to_status="delivered").count() == 1


def test_parcels_of_carriers_without_adapter_are_not_polled(paid, admin_user):
    ship(paid, admin_user, carrier="顺丰", days_ago=2)
    assert get_adapter("shunfeng") is None  # TRACKING_ADAPTER=sandbox tracks no real carrier
    assert services.poll_tracking() == 0


def test_staff_typed_and_carrier_events_are_unique_per_step(paid, admin_user):
    shipment = ship(paid, admin_user, carrier="顺丰").shipment
    when = timezone.now()
    TrackingEvent.objects.create(shipment=shipment, time=when, description="到达上海")
    from orders.tracking import TrackingUpdate

    added = services.record_tracking(
        shipment, [TrackingUpdate(time=when, description="到达上海")], source="carrier"
    )
    assert added == 0 and shipment.events.count() == 1


def test_the_shopper_confirms_receipt_once(paid, admin_user, shopper):
    order = ship(paid, admin_user)

    services.confirm_receipt(order, actor=shopper)

    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED and order.received_at
    assert order.events.get(to_status="delivered").actor == shopper
    with pytest.raises(services.OrderError):
        services.confirm_receipt(order, actor=shopper)


def test_receipt_of_an_unshipped_order_cannot_be_confirmed(paid, shopper):
    with pytest.raises(services.OrderError):
        services.confirm_receipt(paid, actor=shopper)
    paid.refresh_from_db()
    assert paid.status == Order.Status.PAID and paid.received_at is None


def test_receipt_is_confirmed_automatically_after_the_configured_days(paid, admin_user, settings):
    settings.AUTO_CONFIRM_DAYS = 10
    order = ship(paid, admin_user, days_ago=9)
    assert services.confirm_overdue_receipts() == 0

    assert services.confirm_overdue_receipts(now=timezone.now() + timedelta(days=2)) == 1

    order.refresh_from_db()
    assert order.received_at and order.events.get(to_status="delivered").actor is None


def test_the_order_completes_when_the_after_sale_window_passes(paid, admin_user, settings):
    settings.AFTER_SALE_DAYS = 7
    order = ship(paid, admin_user)
    services.confirm_receipt(order, actor=order.user)
    assert services.complete_orders_past_after_sale() == 0

    assert services.complete_orders_past_after_sale(now=timezone.now() + timedelta(days=8)) == 1

    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETED


def test_the_beat_schedule_runs_the_after_sale_tasks():
    tasks = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    assert {
        "orders.tasks.poll_tracking",
        "orders.tasks.confirm_overdue_receipts",
        "orders.tasks.complete_orders_past_after_sale",
    } <= tasks
