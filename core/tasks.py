from celery import shared_task
from django.utils import timezone

from . import outbox
from .models import Heartbeat


@shared_task(name="core.tasks.sweep_outbox")
def sweep_outbox() -> int:
    """Beat, every minute: send what a broker outage left in the outbox."""
    return outbox.sweep()


@shared_task(name="core.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Beat, every minute: the worker stamps that beat is running (see core.health)."""
    Heartbeat.objects.update_or_create(name="beat", defaults={"at": timezone.now()})
