from celery import shared_task

from . import outbox


@shared_task(name="core.tasks.sweep_outbox")
def sweep_outbox() -> int:
    """Beat, every minute: send what a broker outage left in the outbox."""
    return outbox.sweep()
