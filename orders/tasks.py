from celery import shared_task

from core import logs
from core.task_policy import RETRY_POLICY

from . import notifications, services
from .models import AfterSaleRequest, Order, Shipment
from .tracking import TrackingError


@shared_task(name="orders.tasks.cancel_unpaid_orders", **RETRY_POLICY)
def cancel_unpaid_orders() -> int:
    return services.cancel_unpaid_orders()


@shared_task(name="orders.tasks.poll_tracking", **RETRY_POLICY)
def poll_tracking() -> int:
    return services.poll_tracking()


@shared_task(
    name="orders.tasks.start_tracking",
    # A tracking service down or slow: retried with backoff (the periodic poll is the net).
    **{**RETRY_POLICY, "autoretry_for": (*RETRY_POLICY["autoretry_for"], TrackingError)},
)
def start_tracking(shipment_id: int) -> int:
    """Subscribe to a new parcel's pushes and store its first steps (idempotent)."""
    return services.start_tracking(Shipment(pk=shipment_id))


@shared_task(name="orders.tasks.confirm_overdue_receipts", **RETRY_POLICY)
def confirm_overdue_receipts() -> int:
    return services.confirm_overdue_receipts()


@shared_task(name="orders.tasks.complete_orders_past_after_sale", **RETRY_POLICY)
def complete_orders_past_after_sale() -> int:
    return services.complete_orders_past_after_sale()


@shared_task(name="orders.tasks.send_order_email", **RETRY_POLICY)
def send_order_email(order_id: int, kind: str, after_sale_id: int | None = None) -> bool:
    """Kept for the emails enqueued before notifications took them over (outbox rows and
    broker messages of a deploy ago): nothing enqueues it any more, and it can go
    once no such message can be waiting (the outbox is empty of it).

    Tells the shopper through notifications under the event's own key, so an
    email already sent the new way is not sent again, and a redelivery sends
    nothing more. Returns True once the shopper has the message (now or before).
    """
    order = Order.objects.select_related("user").get(pk=order_id)
    logs.bind(order=order.number)
    if kind == "refund_decided":
        if after_sale_id is None:
            return False
        after_sale = AfterSaleRequest.objects.get(pk=after_sale_id)
        notifications.refund_decided(order, after_sale=after_sale)
    else:
        notifications.LEGACY_EMAILS[kind](order)
    return True
