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


@shared_task(
    name="orders.tasks.send_order_email",
    **{**RETRY_POLICY, "autoretry_for": (*RETRY_POLICY["autoretry_for"], OSError)},
)
def send_order_email(order_id: int, kind: str, after_sale_id: int | None = None) -> bool:
    """Mail the shopper; a redelivered task may mail twice, which beats never."""
    order = Order.objects.select_related("user").get(pk=order_id)
    logs.bind(order=order.number)
    after_sale = AfterSaleRequest.objects.get(pk=after_sale_id) if after_sale_id else None
    return notifications.send(order, kind, after_sale=after_sale)
