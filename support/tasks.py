from celery import shared_task

from core.task_policy import RETRY_POLICY

from . import services


@shared_task(name="support.tasks.notify_unseen_reply", **RETRY_POLICY)
def notify_unseen_reply(message_id: int) -> bool:
    """A minute after a staff reply: tell the shopper unless they saw it (idempotent)."""
    return services.notify_unseen_reply(message_id)
