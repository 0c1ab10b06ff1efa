import logging
import time
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.db.models import Q, Value
from django.db.models.functions import Concat, Left
from django.utils import timezone

from core import outbox
from core.task_policy import RETRY_POLICY

from . import deliveries
from .models import Delivery

logger = logging.getLogger(__name__)

# A delivery waiting this long lost its task (its retries ran out, or the enqueue
# never reached a worker): longer than the broker's redelivery of a lost task.
STUCK_AFTER = timedelta(minutes=10)
# Attempts (claims that tried to send: a Wait for the rate limit is none) after
# which a delivery is given up as failed: three runs of `deliver` with all their
# retries, the first and two the sweep starts once a run's retries ran out, so a
# mail server or SMS provider away for half an hour delays messages and loses none.
# (Equal to one run's claims, it would give up every run whose retries ran out.)
MAX_ATTEMPTS = 3 * (1 + RETRY_POLICY["max_retries"])
RESEND_BATCH = 500
# A deliver_many run hands what is left to a new run after this long: well
# within the soft time limit, one SMTP or SMS timeout included.
DELIVER_MANY_SECONDS = 30
# A delivery of a batch that must wait is tried again on its own after this long.
HAND_OVER_SECONDS = 2


@shared_task(
    name="notifications.tasks.deliver",
    **{
        **RETRY_POLICY,
        "autoretry_for": (
            *RETRY_POLICY["autoretry_for"],
            deliveries.TemporaryFailure,
            deliveries.Busy,
        ),
    },
)
def deliver(delivery_id: int) -> str:
    """Send one email or SMS of a site message, at most once (see notifications.deliveries)."""
    return deliveries.deliver(delivery_id)


@shared_task(name="notifications.tasks.deliver_many", **RETRY_POLICY)
def deliver_many(delivery_ids: list[int]) -> int:
    """Send the deliveries of a batch of messages (one outbox row for all), each at
    most once, exactly as ``deliver`` sends one.

    A delivery that cannot go now (a temporary failure, the SMS rate limit,
    another sender's claim, an unexpected error) is handed to a ``deliver`` task
    of its own, with that task's retries, so it never holds back the others.
    After DELIVER_MANY_SECONDS the rest goes on in a new run. A repeated run
    sends nothing twice: a delivery sent, skipped or failed is claimed by no one.
    Returns how many were handled in this run.
    """
    started = time.monotonic()
    for done, pk in enumerate(delivery_ids):
        if time.monotonic() - started > DELIVER_MANY_SECONDS:
            outbox.enqueue(deliver_many, delivery_ids[done:])
            return done
        try:
            deliveries.deliver(pk)
        except (deliveries.TemporaryFailure, deliveries.Busy):
            outbox.enqueue(deliver, pk, countdown=HAND_OVER_SECONDS)
        except Exception:  # noqa: BLE001 - one bad delivery must not hold back the batch
            logger.exception("delivery %s failed in a batch; retried on its own", pk)
            outbox.enqueue(deliver, pk, countdown=HAND_OVER_SECONDS)
    return len(delivery_ids)


def stuck(now) -> Q:
    """Deliveries nobody is sending: waiting (and not tried) for STUCK_AFTER, or
    claimed by a sender whose lease ran out (it died mid-send)."""
    waiting = Q(status=Delivery.Status.PENDING, created_at__lt=now - STUCK_AFTER) & (
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STUCK_AFTER)
    )
    abandoned = Q(status=Delivery.Status.SENDING) & (
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - deliveries.LEASE)
    )
    return waiting | abandoned


@shared_task(name="notifications.tasks.resend_stuck_deliveries", **RETRY_POLICY)
def resend_stuck_deliveries(limit: int = RESEND_BATCH) -> int:
    """Beat, every 5 minutes: send again the deliveries whose task was lost (at most
    `limit`, oldest first), and give up as FAILED those tried MAX_ATTEMPTS times.

    Safe to overlap with a live sender: ``deliveries.deliver`` claims the row
    before it sends, so a delivery enqueued twice is still sent once, and the
    FAILED update keeps the stuck condition, so a row claimed meanwhile is left.
    Returns how many deliveries were enqueued again.
    """
    now = timezone.now()
    given_up = Delivery.objects.filter(stuck(now), attempts__gte=MAX_ATTEMPTS).update(
        status=Delivery.Status.FAILED,
        # the last attempt's reason stays: it says why (the SMS provider silent, ...)
        reason=Left(Concat(Value(f"gave up after {MAX_ATTEMPTS} attempts: "), "reason"), 300),
    )
    pks = list(
        Delivery.objects.filter(stuck(now), attempts__lt=MAX_ATTEMPTS)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    with transaction.atomic():
        for pk in pks:
            outbox.enqueue(deliver, pk)
    if pks or given_up:
        logger.info("deliveries: %s sent again, %s given up", len(pks), given_up)
    return len(pks)
