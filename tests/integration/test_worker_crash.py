"""A worker killed with tasks in hand: another worker does them within the
visibility timeout (minutes in production, seconds here), not hours later."""

import re
import time

import pytest

from orders import services as order_services
from orders.models import Order
from orders.tasks import send_order_email
from tests.integration.helpers import table_locked, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

VISIBILITY = 8  # seconds, for the test; core.task_policy.VISIBILITY_TIMEOUT in production
FAST_REDELIVERY = {
    "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
}
RECEIVED = re.compile(r"Task orders\.tasks\.send_order_email\[[0-9a-f-]+\] received")
SENT = re.compile(r"Task orders\.tasks\.send_order_email\[[0-9a-f-]+\] succeeded in \S+: True")


@pytest.fixture
def order(shopper, variant, address):
    """Placed before the worker's queue exists (its own email goes eagerly)."""
    return order_services.place_order(shopper, [(variant.pk, 1)], address=address)


def test_a_killed_workers_running_and_prefetched_tasks_are_done_by_another(order, start_worker):
    # given: a second connection holding the orders table, so the worker's
    # email task hangs at its SELECT with another one (an ETA) in hand
    with table_locked(Order, "ACCESS EXCLUSIVE"):
        first = start_worker(env=FAST_REDELIVERY)
        send_order_email.apply_async((order.pk, "paid"), countdown=3)  # held unacked till then
        assert first.wait_for(RECEIVED, 20), first.output
        send_order_email.delay(order.pk, "placed")  # runs at once, and hangs
        assert wait_until(lambda: len(RECEIVED.findall(first.output)) == 2, 20), first.output

        # when: the worker dies with both in hand, and the table is free again
        first.kill()
    assert not SENT.findall(first.output)

    # then: another worker sends both, within the visibility timeout (plus a restore
    # interval and start-up), not after kombu's or our old default of hours
    killed_at = time.monotonic()
    second = start_worker(env=FAST_REDELIVERY)
    assert wait_until(lambda: len(SENT.findall(second.output)) >= 2, VISIBILITY + 20), second.output
    assert time.monotonic() - killed_at < VISIBILITY + 20
