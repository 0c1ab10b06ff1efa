"""Celery tasks of marketing: thin, idempotent wrappers around its services."""

from celery import shared_task

from core.task_policy import RETRY_POLICY

from . import contests


@shared_task(name="marketing.tasks.settle_ended_contests", **RETRY_POLICY)
def settle_ended_contests() -> int:
    """Settle every published contest that ended (beat, every 10 minutes); each in its
    own transaction, claimed first, so a second run or a retry awards nothing twice.
    Returns how many prizes were awarded."""
    return sum(len(contests.settle_contest(pk)) for pk in contests.to_settle())
