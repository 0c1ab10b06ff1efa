"""Celery tasks of the reports: thin and idempotent (a rebuild replaces a day's rows)."""

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from core.task_policy import RETRY_POLICY

from . import summaries


@shared_task(name="reports.tasks.build_daily_summaries", **RETRY_POLICY)
def build_daily_summaries() -> int:
    """Nightly: rebuild yesterday and the day before (an accrual just after midnight
    of a payment just before lands in its own day)."""
    today = timezone.localdate()
    return summaries.rebuild_range(today - timedelta(days=2), today - timedelta(days=1))


@shared_task(name="reports.tasks.rebuild_summary_day", **RETRY_POLICY)
def rebuild_summary_day(day: str) -> None:
    summaries.rebuild_day(date.fromisoformat(day))


def schedule_rebuild(start: date, end: date) -> int:
    """Rebuild the days from `start` to `end` in the worker, one task per day (each
    far below the time limit); returns the number of days asked for."""
    from core import outbox

    days = summaries.days_to_build(start, end)
    for day in days:
        outbox.enqueue(rebuild_summary_day, day.isoformat())
    return len(days)


@shared_task(name="reports.tasks.write_export_chunk", **RETRY_POLICY)
def write_export_chunk(job_id: int) -> str:
    """One run of an export job (reports.exports.write_chunk): the next chunk of rows,
    or the file once all are written; each run enqueues the next. Safe to repeat."""
    from . import exports

    return exports.write_chunk(job_id)
