"""Celery tasks of the customer record: thin, idempotent wrappers around crm.segments.

The nightly refresh fans out one task per range of user ids (as the grade review
does per chunk of distributors), so each stays far below the task time limit
whatever the number of customers. Every range is refreshed as of the same
moment; a range refreshed twice (a redelivery, a retry) writes the same figures.
"""

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from core.task_policy import RETRY_POLICY

from . import segments

RANGE_SIZE = segments.BATCH_SIZE  # users per task: one batch, a few seconds


@shared_task(name="crm.tasks.refresh_customer_profiles", **RETRY_POLICY)
def refresh_customer_profiles() -> int:
    """The nightly refresh (beat): schedule one range task per batch of users.
    Returns how many ranges it scheduled."""
    now = timezone.now().isoformat()
    ranges = segments.user_id_ranges(RANGE_SIZE)
    for first_pk, last_pk in ranges:
        refresh_customer_range.delay(first_pk, last_pk, now)
    return len(ranges)


@shared_task(name="crm.tasks.refresh_customer_range", **RETRY_POLICY)
def refresh_customer_range(first_pk: int, last_pk: int, now: str | None = None) -> int:
    """Refresh the profiles of the users with ids in [first_pk, last_pk]."""
    when = datetime.fromisoformat(now) if now else None
    return segments.refresh_range(first_pk, last_pk, now=when)
