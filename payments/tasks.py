import logging

from celery import shared_task

from core.task_policy import RETRY_POLICY

from .gateways import sandbox
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
    payment = Payment.objects.get(reference=reference)
    status, body = sandbox.post_form(notify_url, sandbox.build_notification(payment))
    if status != 200 or body.strip() != "success":
        logger.warning("sandbox notification for %s answered %s %r", reference, status, body)
        raise DeliveryFailed(f"{status} {body[:100]}")
    return status
