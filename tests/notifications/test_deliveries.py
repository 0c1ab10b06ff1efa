"""The delivery claim: each email or SMS of an event is sent at most once, whatever
the retries, the redeliveries and the workers racing for it."""

import sys
import threading
import types
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from notifications import deliveries
from notifications.models import Category, Channel, Delivery, Kind, SiteMessage


class RecordingChannel(types.ModuleType):
    """A channel that records what it is asked to send (and can be told to fail)."""

    def __init__(self):
        super().__init__("tests_recording_channel")
        self.sent: list[str] = []
        self.failure: Exception | None = None
        self.already_sent: bool | None = None
        self.lock = threading.Lock()

    def send(self, delivery):
        if self.failure is not None:
            raise self.failure
        with self.lock:
            self.sent.append(delivery.idempotency_key)
        return f"ref-{len(self.sent)}"

    def was_sent(self, delivery):
        return self.already_sent


@pytest.fixture
def recording(monkeypatch):
    channel = RecordingChannel()
    monkeypatch.setitem(sys.modules, channel.__name__, channel)
    monkeypatch.setitem(deliveries.CHANNELS, Channel.SMS, channel.__name__)
    return channel


@pytest.fixture
def delivery(shopper):
    message = SiteMessage.objects.create(
        recipient=shopper,
        kind=Kind.ORDER_SHIPPED,
        category=Category.ORDERS,
        event_key="order:1:shipped",
        title="shipped",
        language="zh-hans",
    )
    return Delivery.objects.create(message=message, channel=Channel.SMS, address="13800138000")


@pytest.mark.django_db
def test_a_delivery_is_sent_once_and_a_second_run_sends_nothing(recording, delivery):
    assert deliveries.deliver(delivery.pk) == Delivery.Status.SENT
    assert deliveries.deliver(delivery.pk) == Delivery.Status.SENT

    delivery.refresh_from_db()
    assert recording.sent == [f"n{delivery.message_id}-sms"]
    assert (delivery.attempts, delivery.provider_ref) == (1, "ref-1")
    assert delivery.sent_at is not None


@pytest.mark.django_db
def test_a_temporary_failure_releases_the_claim_for_the_retry(recording, delivery):
    recording.failure = deliveries.TemporaryFailure("gateway timeout")
    with pytest.raises(deliveries.TemporaryFailure):
        deliveries.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.reason) == (Delivery.Status.PENDING, "gateway timeout")

    recording.failure = None
    assert deliveries.deliver(delivery.pk) == Delivery.Status.SENT
    assert len(recording.sent) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (deliveries.PermanentFailure("number does not exist"), Delivery.Status.FAILED),
        (deliveries.NotSent("over the hourly limit"), Delivery.Status.SKIPPED),
    ],
)
def test_a_refusal_is_final_and_says_why(recording, delivery, failure, status):
    recording.failure = failure
    assert deliveries.deliver(delivery.pk) == status
    recording.failure = None
    assert deliveries.deliver(delivery.pk) == status  # a redelivery changes nothing

    delivery.refresh_from_db()
    assert delivery.reason == str(failure)
    assert recording.sent == []


@pytest.mark.django_db
def test_a_fresh_claim_of_another_sender_makes_the_task_wait(recording, delivery):
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENDING, claimed_at=timezone.now()
    )
    with pytest.raises(deliveries.Busy):
        deliveries.deliver(delivery.pk)
    assert recording.sent == []


@pytest.mark.django_db
@pytest.mark.parametrize(("provider_says", "sends"), [(True, 0), (False, 1), (None, 1)])
def test_a_dead_senders_claim_asks_the_provider_before_sending_again(
    recording, delivery, provider_says, sends
):
    # given: a worker claimed the delivery and died mid-send, longer ago than the lease
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENDING,
        claimed_at=timezone.now() - deliveries.LEASE - timedelta(seconds=1),
        attempts=1,
    )
    recording.already_sent = provider_says

    # when: the redelivered task runs
    assert deliveries.deliver(delivery.pk) == Delivery.Status.SENT

    # then: sent again only when the provider has not got it (or cannot tell)
    assert len(recording.sent) == sends
    delivery.refresh_from_db()
    assert delivery.attempts == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_workers_delivering_one_message_at_once_send_it_once(recording, delivery):
    barrier = threading.Barrier(10)
    outcomes = []

    def work():
        try:
            barrier.wait(timeout=10)
            outcomes.append(deliveries.deliver(delivery.pk))
        except deliveries.Busy:
            outcomes.append("busy")
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(recording.sent) == 1
    assert len(outcomes) == 10
    assert set(outcomes) <= {Delivery.Status.SENT, "busy"}
