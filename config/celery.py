"""The Celery app: tasks from every app, JSON only, at-least-once delivery.

Tasks are idempotent (see each app's services), so we acknowledge late and let
a task whose worker died be delivered again rather than lose it.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=60,
    task_time_limit=90,
    broker_connection_retry_on_startup=True,
    timezone="Asia/Shanghai",
    beat_schedule={
        "cancel-unpaid-orders": {
            "task": "orders.tasks.cancel_unpaid_orders",
            "schedule": 60.0,
        },
        "place-unplaced-distributors": {
            "task": "distributors.tasks.place_unplaced_members",
            "schedule": 30.0,
        },
        "accrue-missing-commissions": {
            "task": "commissions.tasks.accrue_missing_commissions",
            "schedule": crontab(minute="*/10"),
        },
        "release-commissions": {
            "task": "commissions.tasks.release_due_commissions",
            "schedule": crontab(minute="*/5"),
        },
        "evaluate-grades": {
            "task": "distributors.tasks.evaluate_all_grades",
            "schedule": crontab(hour=3, minute=30),  # nightly, Asia/Shanghai
        },
    },
)


@app.on_after_configure.connect
def _merge_settings_schedule(sender, **kwargs):
    """Entries of settings.CELERY_BEAT_SCHEDULE join the schedule above."""
    from django.conf import settings

    sender.conf.beat_schedule.update(getattr(settings, "CELERY_BEAT_SCHEDULE", {}))


app.autodiscover_tasks()
