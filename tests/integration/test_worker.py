"""Payment to commission through a real Celery worker on Redis and PostgreSQL.

Nothing runs eagerly here: the notification view commits the payment, the
on-commit hook publishes a run of the accrual queue to Redis, and a separate
`celery worker` process consumes it and writes the commissions into the test
database, where this test polls for them.
"""

import re
import time
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from commissions.models import Commission, LedgerEntry
from config.celery import app as celery_app
from orders.models import Order
from orders.services import place_order
from payments.gateways.sandbox import build_notification
from payments.services import start_payment

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ACCRUAL_TIMEOUT = 30  # seconds
# What celery.app.trace logs at INFO when the task returned (here: 1 due order accrued).
ACCRUAL_SUCCEEDED = re.compile(
    r"Task commissions\.tasks\.accrue_due\[[0-9a-f-]+\] succeeded in [0-9.e-]+s: 1\b"
)


def wait_for_commissions(order: Order, count: int, timeout: float) -> list[Commission]:
    deadline = time.monotonic() + timeout
    while True:
        commissions = list(Commission.objects.filter(order=order).order_by("level"))
        if len(commissions) >= count or time.monotonic() > deadline:
            return commissions
        time.sleep(0.2)


def test_paid_order_accrues_commissions_in_the_celery_worker(
    celery_worker, shopper, chain, make_variant, address, default_plan
):
    # given: an order of 200.00 in goods, attributed to carol, recruited by bob, recruited by alice
    alice, bob, carol = chain
    variant = make_variant(price="100.00")
    order = place_order(
        shopper, [(variant.pk, 2)], address=address, referral_code=carol.invite_code
    )
    assert order.subtotal == Decimal("200.00")
    payment = start_payment(order, gateway_code="sandbox")

    # when: the gateway's signed notification arrives
    response = Client().post(
        reverse("payments:notify", args=["sandbox"]), build_notification(payment)
    )

    # then: the worker, not this process, accrues level 1 (10%) and level 2 (5%)
    assert response.status_code == 200
    assert response.content == b"success"
    assert celery_app.conf.task_always_eager is False
    commissions = wait_for_commissions(order, 2, ACCRUAL_TIMEOUT)
    assert [(c.level, c.distributor_id, c.amount) for c in commissions] == [
        (1, carol.pk, Decimal("20.00")),
        (2, bob.pk, Decimal("10.00")),
    ], f"commissions after {ACCRUAL_TIMEOUT}s; worker output:\n{celery_worker.output}"
    assert not Commission.objects.filter(distributor=alice).exists()
    assert (
        LedgerEntry.objects.filter(commission__order=order, kind=LedgerEntry.Kind.ACCRUED).count()
        == 2
    )
    assert celery_worker.wait_for(ACCRUAL_SUCCEEDED, timeout=10), celery_worker.output
