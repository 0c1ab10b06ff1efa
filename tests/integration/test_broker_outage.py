"""The broker dies in the middle of a shopper's visit; nothing they did is lost.

The broker is a Redis server of this test's own (tests/core/private_redis.py),
stopped after the shopper filled their cart. Checkout and the sandbox's
confirm button answer as usual and leave their tasks in the outbox; once the
broker is back, the beat sweep (run by a real worker) sends them, and the
worker delivers the sandbox notification to the live site, which marks the
order paid and enqueues the "paid" email, sent by the worker too.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import OutboxMessage
from core.tasks import sweep_outbox
from notifications.models import Channel, Delivery
from orders.models import Order
from payments.models import Payment
from tests.accounts.helpers import saved_address
from tests.core.private_redis import celery_on_broker
from tests.integration.helpers import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def emails_sent(order) -> int:
    """The order's emails the worker sent ("placed", "paid")."""
    return Delivery.objects.filter(
        message__event_key__startswith=f"order:{order.pk}:",
        channel=Channel.EMAIL,
        status=Delivery.Status.SENT,
    ).count()


def test_checkout_and_payment_with_the_broker_down_complete_once_it_is_back(
    private_redis, worker_queue, start_worker, live_server, settings, shopper, make_variant
):
    settings.LANGUAGE_CODE = "en"
    # The notification reaches the live site; every failed send is retried by the
    # next request (in production a process skips the broker for 10 s after one).
    settings.PAYMENT_NOTIFY_BASE_URL = live_server.url
    settings.OUTBOX_BROKER_RETRY_SECONDS = 0
    client = Client()
    with celery_on_broker(private_redis.url(), worker_queue):
        # given: a shopper with a cart, and then the broker dies
        variant = make_variant(price="50.00")
        address = saved_address(shopper, make_default=True)
        client.force_login(shopper)
        client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 2})
        client.get(reverse("orders:checkout"))
        private_redis.stop()

        # when: they check out and confirm on the sandbox page
        placed = client.post(
            reverse("orders:checkout"),
            {"checkout_token": client.session["checkout_token"], "address": str(address.pk)},
        )
        order = Order.objects.get(user=shopper)
        assert placed.status_code == 302 and placed.url == order.get_absolute_url()
        started = client.post(reverse("payments_pages:start", args=[order.number]))
        assert started.status_code == 302
        payment = Payment.objects.get(order=order)
        confirmed = client.post(reverse("payments_pages:sandbox", args=[payment.reference]))

        # then: both answered as usual, and their work waits in the outbox
        assert confirmed.status_code == 302
        assert sorted(OutboxMessage.objects.values_list("task", flat=True)) == [
            "notifications.tasks.deliver",  # the "placed" email
            "payments.tasks.deliver_sandbox_notification",
        ]
        order.refresh_from_db()
        assert order.status == Order.Status.PENDING_PAYMENT

        # when: the broker is back, a worker runs, and beat's sweep comes a minute later
        private_redis.start()
        worker = start_worker(env={"CELERY_BROKER_URL": private_redis.url(), "DEMO_SITE": "true"})
        OutboxMessage.objects.update(created_at=timezone.now() - timedelta(minutes=2))
        sweep_outbox.delay()

        # then: the worker delivers the payment, the site marks it paid, both emails go
        assert wait_until(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID), (
            worker.output
        )
        assert wait_until(lambda: emails_sent(order) == 2), worker.output
        assert wait_until(lambda: not OutboxMessage.objects.exists()), list(
            OutboxMessage.objects.values()
        )
