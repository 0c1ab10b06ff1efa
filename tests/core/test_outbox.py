"""Work enqueued after a commit survives a broker outage (core.outbox).

The broker is a Redis server of the test's own; "down" is that server
stopped. No worker runs here: what matters is what the shopper sees and what
waits in the outbox (tests/integration/test_broker_outage.py runs a worker).
"""

import time
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from commissions.models import AccrualDue
from core import outbox
from core.models import OutboxMessage
from orders import services as order_services
from orders.models import Order
from payments import services as payment_services
from payments.gateways.sandbox import build_notification
from payments.models import Payment
from tests.core.private_redis import celery_on_broker

pytestmark = pytest.mark.django_db

FAST = 3  # seconds: a request with the broker down answers well within this


@pytest.fixture
def broker(private_redis):
    """Celery on the private Redis (eager off) on a queue of this test's own."""
    queue = f"test-{uuid.uuid4().hex}"
    with celery_on_broker(private_redis.url(), queue):
        yield private_redis, queue


def queued(private_redis, queue) -> int:
    import redis

    return redis.Redis.from_url(private_redis.url()).llen(queue)


def tasks_waiting() -> list[str]:
    return sorted(OutboxMessage.objects.values_list("task", flat=True))


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"


def test_eager_mode_runs_the_task_on_commit_and_keeps_no_row(
    shopper, variant, address, django_capture_on_commit_callbacks
):
    # given: no broker (the unit-test and `make run` default): tasks run in-process
    with django_capture_on_commit_callbacks(execute=True):
        order_services.place_order(shopper, [(variant.pk, 1)], address=address)

    assert len(mail.outbox) == 1  # the "placed" email went at once
    assert not OutboxMessage.objects.exists()


def test_a_send_that_reaches_the_broker_leaves_no_row(
    broker, shopper, variant, address, django_capture_on_commit_callbacks
):
    server, queue = broker
    with django_capture_on_commit_callbacks(execute=True):
        order_services.place_order(shopper, [(variant.pk, 1)], address=address)

    assert queued(server, queue) == 1  # the "placed" email's delivery task
    assert not OutboxMessage.objects.exists()


def test_checkout_with_the_broker_down_places_the_order_and_empties_the_cart(
    client, broker, shopper, make_variant, english
):
    from tests.accounts.helpers import saved_address

    # given: a shopper on the checkout page, and then the broker dies
    server, _queue = broker
    variant = make_variant(price="50.00")
    client.force_login(shopper)
    client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 2})
    client.get(reverse("orders:checkout"))
    token = client.session["checkout_token"]
    address = saved_address(shopper, make_default=True)
    server.stop()

    # when: they place the order
    started = time.monotonic()
    response = client.post(
        reverse("orders:checkout"), {"checkout_token": token, "address": str(address.pk)}
    )

    # then: they see their order, fast; the cart is empty; the email waits in the outbox
    order = Order.objects.get(user=shopper)
    assert response.status_code == 302
    assert response.url == order.get_absolute_url()
    assert time.monotonic() - started < FAST
    assert "Your cart is empty" in client.get(reverse("orders:cart")).content.decode()
    assert tasks_waiting() == ["notifications.tasks.deliver"]  # the "placed" email


def test_the_sandbox_confirm_with_the_broker_down_answers_and_keeps_the_delivery(
    client, broker, shopper, variant, address
):
    server, _queue = broker
    order = order_services.place_order(shopper, [(variant.pk, 1)], address=address)
    payment = payment_services.start_payment(order, gateway_code="sandbox")
    OutboxMessage.objects.all().delete()  # the "placed" email: not this test's
    client.force_login(shopper)
    server.stop()

    response = client.post(reverse("payments_pages:sandbox", args=[payment.reference]))

    assert response.status_code == 302
    assert response.url == reverse("payments_pages:return", args=[payment.reference])
    assert tasks_waiting() == ["payments.tasks.deliver_sandbox_notification"]


def test_a_notification_with_the_broker_down_answers_success_and_keeps_every_task(
    client, broker, shopper, chain, make_variant, address, default_plan
):
    # given: an order through carol's link, waiting for payment; the broker dies
    server, _queue = broker
    order = order_services.place_order(
        shopper,
        [(make_variant(price="100.00").pk, 2)],
        address=address,
        referral_code=chain[2].invite_code,
    )
    payment = payment_services.start_payment(order, gateway_code="sandbox")
    OutboxMessage.objects.all().delete()
    server.stop()

    # when: the gateway's notification arrives
    started = time.monotonic()
    response = client.post(
        reverse("payments:notify", args=["sandbox"]), build_notification(payment)
    )

    # then: the gateway hears success (no resends of a paid order), and none of
    # the work after the commit is lost: accrual, the "paid" email, grades
    assert response.status_code == 200
    assert response.content == b"success"
    assert time.monotonic() - started < FAST
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Payment.objects.get(pk=payment.pk).status != Payment.Status.CREATED
    assert AccrualDue.objects.filter(order=order).exists()  # accrual: due, in its own queue
    assert "notifications.tasks.deliver" in tasks_waiting()


def test_the_sweep_sends_what_waited_once_the_broker_is_back(
    broker, shopper, variant, address, django_capture_on_commit_callbacks
):
    # given: an order placed while the broker was down
    server, queue = broker
    server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        order_services.place_order(shopper, [(variant.pk, 1)], address=address)
    waiting = OutboxMessage.objects.get()
    assert waiting.attempts == 1 and waiting.last_error  # the failed send is on record

    # when: the broker is back; a sweep runs before, then after, the row is a minute old
    server.start()
    assert outbox.sweep() == 0  # too young: its own on-commit send may still be running
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    sent = outbox.sweep()

    # then: it is on the broker once, and gone from the outbox
    assert sent == 1
    assert queued(server, queue) == 1
    assert not OutboxMessage.objects.exists()


def test_a_rolled_back_change_enqueues_nothing(broker, shopper, variant, address):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        order_services.place_order(shopper, [(variant.pk, 1)], address=address)
        raise RuntimeError("the request failed after placing")

    assert not OutboxMessage.objects.exists()


def test_a_countdown_longer_than_the_broker_waits_for_is_refused():
    from core.task_policy import MAX_COUNTDOWN
    from orders.tasks import send_order_email

    with pytest.raises(ValueError):
        outbox.enqueue(send_order_email, 1, "paid", countdown=MAX_COUNTDOWN + 1)
