from celery import shared_task

from core.task_policy import RETRY_POLICY

from . import deliveries


@shared_task(
    name="notifications.tasks.deliver",
    **{
        **RETRY_POLICY,
        "autoretry_for": (
            *RETRY_POLICY["autoretry_for"],
            deliveries.TemporaryFailure,
            deliveries.Busy,
        ),
    },
)
def deliver(delivery_id: int) -> str:
    """Send one email or SMS of a site message, at most once (see notifications.deliveries)."""
    return deliveries.deliver(delivery_id)
