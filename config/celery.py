"""The Celery app: tasks from every app, JSON only, at-least-once delivery.

Tasks are idempotent (see each app's services), so we acknowledge late and let
a task whose worker died be delivered again rather than lose it.
"""

import os

from celery import Celery
from celery.schedules import crontab

from core.task_policy import TASK_SOFT_TIME_LIMIT, TASK_TIME_LIMIT

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
    # The time limits and the retry backoff live in core.task_policy beside the
    # broker's visibility timeout, which must stay longer than all of them.
    task_soft_time_limit=TASK_SOFT_TIME_LIMIT,
    task_time_limit=TASK_TIME_LIMIT,
    broker_connection_retry_on_startup=True,
    # The worker logs through Django's LOGGING (core.logs: task id, request id, order;
    # LOG_FORMAT=json), not a root logger of its own.
    worker_hijack_root_logger=False,
    timezone="Asia/Shanghai",
    beat_schedule={
        # Sends what a broker outage left in the outbox (core.outbox).
        "sweep-outbox": {"task": "core.tasks.sweep_outbox", "schedule": 60.0},
        # /health/ reads when this last ran: beat and a worker are both alive.
        "heartbeat": {"task": "core.tasks.heartbeat", "schedule": 60.0},
        "cancel-unpaid-orders": {
            "task": "orders.tasks.cancel_unpaid_orders",
            "schedule": 60.0,
        },
        "place-unplaced-distributors": {
            "task": "distributors.tasks.place_unplaced_members",
            "schedule": 30.0,
        },
        # Paid orders due for accrual (commissions.accrual): each payment requests a
        # run as well; this one catches a run that was lost.
        "accrue-due-commissions": {"task": "commissions.tasks.accrue_due", "schedule": 60.0},
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
        # Grade keeping (考核): the task evaluates a period once, the first day after it ends.
        "evaluate-distributors": {
            "task": "distributors.tasks.evaluate_ended_period",
            "schedule": crontab(hour=1, minute=20),  # daily, Asia/Shanghai
        },
        # Customers' figures and segments (crm), fanned out in ranges of users.
        "refresh-customer-segments": {
            "task": "crm.tasks.refresh_customer_profiles",
            "schedule": crontab(hour=2, minute=40),  # nightly, Asia/Shanghai
        },
        "poll-tracking": {
            "task": "orders.tasks.poll_tracking",
            "schedule": crontab(minute="*/15"),
        },
        "confirm-overdue-receipts": {
            "task": "orders.tasks.confirm_overdue_receipts",
            "schedule": crontab(minute=7),  # hourly
        },
        "query-payments-in-flight": {
            "task": "payments.tasks.query_in_flight",
            "schedule": 120.0,
        },
        "settle-payouts-in-flight": {
            "task": "commissions.tasks.settle_payouts_in_flight",
            "schedule": 120.0,
        },
        "check-gateway-bills": {
            "task": "payments.tasks.check_bills",
            "schedule": crontab(hour=10, minute=40),  # bills of yesterday are out by 10:00
        },
        "complete-orders-after-window": {
            "task": "orders.tasks.complete_orders_past_after_sale",
            "schedule": crontab(minute=17),  # hourly
        },
        # The days just ended become summary rows for the dashboard and reports.
        "build-daily-summaries": {
            "task": "reports.tasks.build_daily_summaries",
            "schedule": crontab(hour=0, minute=20),
        },
        # Emails and SMS whose task was lost are sent again (each still once).
        "resend-stuck-deliveries": {
            "task": "notifications.tasks.resend_stuck_deliveries",
            "schedule": crontab(minute="*/5"),
        },
        # Ended sales contests are ranked and their prizes paid, once each.
        "settle-ended-contests": {
            "task": "marketing.tasks.settle_ended_contests",
            "schedule": crontab(minute="*/10"),
        },
    },
)


app.autodiscover_tasks()
