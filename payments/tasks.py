import logging
from datetime import date

from celery import shared_task

from core.task_policy import RETRY_POLICY

from . import reconciliation, services
from .gateways import GatewayError, is_offered, sandbox
from .models import Payment

logger = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    pass


@shared_task(
    name="payments.tasks.deliver_sandbox_notification",
    bind=True,
    **{**RETRY_POLICY, "autoretry_for": (DeliveryFailed, OSError)},
)
def deliver_sandbox_notification(self, reference: str, notify_url: str) -> int:
    """The sandbox gateway's server: post the signed notification until answered.

    Like a real gateway it delivers again (with backoff) until our notify URL
    answers 200 `success`.
    """
    if not is_offered("sandbox"):  # not a demo site (any more): nothing to deliver
        logger.error("sandbox notification for %s not sent: not a demo site", reference)
        return 0
    payment = Payment.objects.get(reference=reference)
    status, body = sandbox.post_form(notify_url, sandbox.build_notification(payment))
    if status != 200 or body.strip() != "success":
        logger.warning("sandbox notification for %s answered %s %r", reference, status, body)
        raise DeliveryFailed(f"{status} {body[:100]}")
    return status


GATEWAY_RETRY = {
    **RETRY_POLICY,
    "autoretry_for": (*RETRY_POLICY["autoretry_for"], GatewayError),
}


@shared_task(name="payments.tasks.close_unpaid_payments", **GATEWAY_RETRY)
def close_unpaid_payments(order_id: int) -> int:
    """Close at the gateways the trades of a cancelled order (alipay.trade.close, WeChat close)."""
    from orders.models import Order

    return services.close_unpaid_payments(Order.objects.get(pk=order_id))


@shared_task(name="payments.tasks.query_in_flight", **RETRY_POLICY)
def query_in_flight() -> dict:
    return reconciliation.query_in_flight()


@shared_task(name="payments.tasks.check_bills", **GATEWAY_RETRY)
def check_bills(day: str | None = None) -> dict:
    """Compare each gateway's bill of `day` (default: yesterday in Shanghai) with ours."""
    return reconciliation.check_bills(date.fromisoformat(day) if day else None)
