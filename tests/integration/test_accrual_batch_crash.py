"""Accrual in batches through real workers: a worker killed in the middle of a batch
leaves every order to be accrued exactly once by the next, and an order paid at
a quiet time accrues within seconds."""

import time
from decimal import Decimal

import pytest
from django.db import connection

from commissions.models import Accrual, AccrualDue, Commission
from commissions.tasks import accrue_due_task
from commissions.verification import verify_ledger
from orders import services as order_services
from tests.commissions.test_batch_accrual import TWO_LEVELS, levels_by_order, paid_due_orders
from tests.integration.helpers import table_locked, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# A task whose worker died is handed out again after 3 s, looked for every second.
FAST_REDELIVERY = {"CELERY_VISIBILITY_TIMEOUT": "3", "CELERY_UNACKED_RESTORE_INTERVAL": "1"}
QUIET_TIME_ACCRUAL = 5  # seconds from the payment's commit to its commissions


def _batch_insert_is_waiting() -> bool:
    """Is the batch's INSERT of commissions waiting for a lock? (Asked on the test's own
    autocommit connection: inside the blocker's transaction it would see one snapshot.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'INSERT INTO %%commissions_commission%%'"
        )
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_mid_batch_leaves_every_order_to_be_accrued_once(
    start_worker, chain, shopper, default_plan
):
    # given: 120 paid orders due, and the commissions table held, so that the
    # worker's batch stops at its INSERT with the orders locked and computed
    ids = paid_due_orders(120, through=chain[2], buyer=shopper, plan=default_plan)
    with table_locked(Commission, "EXCLUSIVE"):
        first = start_worker(env=FAST_REDELIVERY)
        accrue_due_task.delay()
        assert wait_until(_batch_insert_is_waiting, 30), first.output

        # when: the worker dies with the batch half done, and the table is free again
        first.kill()
    assert not Commission.objects.filter(order_id__in=ids).exists()  # nothing half-written

    # then: another worker gets the unacknowledged run again and accrues each order once
    second = start_worker(env=FAST_REDELIVERY)
    assert wait_until(lambda: not AccrualDue.objects.exists(), 40), second.output
    time.sleep(2)  # a stray second run would show up here
    assert Accrual.objects.filter(order_id__in=ids).count() == 120
    assert levels_by_order(ids) == dict.fromkeys(ids, TWO_LEVELS)
    assert verify_ledger().is_consistent


def test_an_order_paid_at_a_quiet_time_accrues_within_seconds(
    celery_worker, chain, shopper, make_variant, address, default_plan
):
    order = order_services.place_order(
        shopper,
        [(make_variant(price="100.00").pk, 1)],
        address=address,
        referral_code=chain[2].invite_code,
    )

    paid_at = time.monotonic()
    order_services.mark_paid(order)  # commits: its run is requested after the commit

    assert wait_until(
        lambda: Commission.objects.filter(order=order).count() == 2, QUIET_TIME_ACCRUAL
    ), celery_worker.output
    assert time.monotonic() - paid_at < QUIET_TIME_ACCRUAL
    assert sorted(Commission.objects.filter(order=order).values_list("amount", flat=True)) == [
        Decimal("5.00"),
        Decimal("10.00"),
    ]
