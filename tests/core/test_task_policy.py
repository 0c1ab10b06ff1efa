"""The broker hands a dead worker's tasks to another within minutes, and never
hands out a task a live worker is still legitimately holding."""

from django.conf import settings

from config.celery import app
from core import task_policy


def visibility_timeout() -> int:
    return settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]


def test_a_dead_workers_tasks_are_redelivered_within_fifteen_minutes():
    restore_interval = settings.CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_interval"]
    assert visibility_timeout() + restore_interval <= 15 * 60


def test_the_visibility_timeout_outlasts_every_wait_of_a_live_worker():
    from distributors.tree import SCHEDULE_DELAY_SECONDS

    time_limit = app.conf.task_time_limit
    assert time_limit == task_policy.TASK_TIME_LIMIT
    assert app.conf.task_soft_time_limit < time_limit
    assert SCHEDULE_DELAY_SECONDS <= task_policy.MAX_COUNTDOWN  # the one countdown we use
    app.loader.import_default_modules()  # every app's tasks.py
    backoff = max(
        task.retry_backoff_max
        for task in app.tasks.values()
        if getattr(task, "retry_backoff", False)
    )
    assert backoff <= task_policy.RETRY_BACKOFF_MAX
    assert visibility_timeout() > time_limit
    assert visibility_timeout() > task_policy.MAX_COUNTDOWN
    assert visibility_timeout() > backoff
    # a message may wait its countdown or backoff behind a task running to its limit
    assert visibility_timeout() > task_policy.longest_wait_in_a_live_worker()
