"""Accrual survives what production does to tasks: a message delivered twice, a
worker killed with SIGKILL in the middle of the task, a lost on-commit send."""

import re
import time
from decimal import Decimal

import pytest
from django.db import connection

from commissions.models import Commission, LedgerEntry
from commissions.tasks import accrue_commissions_task
from orders import services as order_services
from tests.integration.helpers import table_locked, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
TIMEOUT = 40
# A task whose worker died is handed out again after 3 s, looked for every second.
FAST_REDELIVERY = {"CELERY_VISIBILITY_TIMEOUT": "3", "CELERY_UNACKED_RESTORE_INTERVAL": "1"}


@pytest.fixture
def paid_order(shopper, chain, make_variant, address, default_plan, monkeypatch):
    """A paid order of 200.00 through carol's link whose accrual was NOT sent yet."""
    from commissions import services

    monkeypatch.setattr(services, "schedule_accrual", lambda order: None)
    order = order_services.place_order(
        shopper,
        [(make_variant(price="100.00").pk, 2)],
        address=address,
        referral_code=chain[2].invite_code,
    )
    return order_services.mark_paid(order)


def entries_of(order):
    return sorted(
        LedgerEntry.objects.filter(commission__order=order).values_list("kind", "pending")
    )


def test_a_task_delivered_twice_accrues_once(celery_worker, paid_order):
    accrue_commissions_task.delay(paid_order.pk)
    accrue_commissions_task.delay(paid_order.pk)

    assert celery_worker.wait_for("accrue_commissions", TIMEOUT)
    # Count the accrual tasks only: the order's emails are tasks of their own.
    accruals_done = re.compile(r"accrue_commissions\[[0-9a-f-]+\] succeeded in")
    assert wait_until(lambda: len(accruals_done.findall(celery_worker.output)) >= 2), (
        celery_worker.output
    )
    assert entries_of(paid_order) == [
        ("accrued", Decimal("10.00")),
        ("accrued", Decimal("20.00")),
    ]


def test_a_worker_killed_mid_task_leaves_one_set_after_redelivery(start_worker, paid_order):
    # given: a second connection holds the commissions table, so the task will
    # stop at its INSERT, after it locked the order and computed the amounts
    with table_locked(Commission, "EXCLUSIVE"):
        first = start_worker(env=FAST_REDELIVERY)
        accrue_commissions_task.delay(paid_order.pk)
        assert first.wait_for("Task commissions.tasks.accrue_commissions", TIMEOUT), first.output
        assert wait_until(_insert_is_waiting), "the task never reached its INSERT"

        # when: the worker dies with the task half done, and the table is free again
        first.kill()
    assert not Commission.objects.filter(order=paid_order).exists()  # nothing half-written

    # then: another worker gets the unacknowledged task again and accrues once
    second = start_worker(env=FAST_REDELIVERY)
    assert wait_until(lambda: Commission.objects.filter(order=paid_order).count() == 2), (
        second.output
    )
    time.sleep(2)  # a stray third delivery would show up here
    assert entries_of(paid_order) == [
        ("accrued", Decimal("10.00")),
        ("accrued", Decimal("20.00")),
    ]


def _insert_is_waiting() -> bool:
    """Is an INSERT into the commissions table waiting for a lock?

    Asked on the test's own (autocommit) connection: inside the blocker's
    transaction, pg_stat_activity would answer from one snapshot forever.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'INSERT INTO %%commissions_commission%%'"
        )
        return cursor.fetchone()[0] > 0


def test_a_lost_send_is_accrued_by_the_sweep_in_the_worker(celery_worker, paid_order):
    from datetime import timedelta

    from django.utils import timezone

    from commissions.tasks import accrue_missing_commissions
    from orders.models import Order

    Order.objects.filter(pk=paid_order.pk).update(paid_at=timezone.now() - timedelta(minutes=6))
    accrue_missing_commissions.delay()
    assert wait_until(lambda: Commission.objects.filter(order=paid_order).count() == 2), (
        celery_worker.output
    )


def test_a_task_retried_after_a_database_error_accrues_once(paid_order, monkeypatch):
    """Eager here (as every test outside a worker): the retry policy itself, with a
    transient error on the first try."""
    from django.db import OperationalError

    from commissions import services
    from config.celery import app

    # Propagating would raise the Retry itself instead of running the retry;
    # the autouse _eager_celery fixture restores this setting.
    app.conf.task_eager_propagates = False
    real = services.accrue_commissions
    calls = []

    def flaky(order_id):
        calls.append(order_id)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(order_id)

    monkeypatch.setattr(services, "accrue_commissions", flaky)
    accrue_commissions_task.apply(args=[paid_order.pk])
    assert len(calls) == 2
    assert entries_of(paid_order) == [
        ("accrued", Decimal("10.00")),
        ("accrued", Decimal("20.00")),
    ]
