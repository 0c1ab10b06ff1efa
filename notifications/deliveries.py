"""Sending one delivery, at most once whatever the retries and redeliveries.

A channel is a module with two functions:

    send(delivery) -> str          the provider's reference of what it sent; raises
                                   NotSent (nothing to send: skipped for good),
                                   TemporaryFailure (try again later),
                                   Wait (nothing tried yet: try later, and it
                                   was no attempt) or
                                   PermanentFailure (give up)
    was_sent(delivery) -> bool | None
                                   asks the provider whether a send with the
                                   delivery's idempotency key went out (None: the
                                   provider cannot tell)

``deliver`` claims the row with a conditional update (PENDING -> SENDING) before
it sends, so two workers holding the same task never both send. A worker killed
mid-send leaves the row SENDING; once the claim is older than ``LEASE`` (longer
than any send may take) the redelivered task claims it again and first asks the
provider whether the first send went out. Where the provider cannot say
(email), it sends again under the same Message-ID, which mail systems treat as
the same message.
"""

import logging
from datetime import timedelta
from importlib import import_module

from django.db.models import F, Q
from django.utils import timezone

from .models import Channel, Delivery

logger = logging.getLogger(__name__)

# Longer than any one send may take (SMTP and SMS clients time out well before).
LEASE = timedelta(seconds=45)

CHANNELS = {
    Channel.EMAIL: "notifications.email",
    Channel.SMS: "notifications.sms",
}


class NotSent(Exception):
    """Nothing to send, for good (the number is over its rate limit, the reply was seen)."""


class TemporaryFailure(Exception):
    """The provider failed in a way worth retrying (timeout, 5xx, throttled)."""


class Wait(TemporaryFailure):
    """Not sent yet, and nothing was tried (the number's SMS rate limit for the minute):
    released for the retry without counting as an attempt, so waiting never uses up
    the attempts after which a delivery is given up (notifications.tasks.MAX_ATTEMPTS)."""


class PermanentFailure(Exception):
    """The provider refused the message for good (bad number, unknown template)."""


class Busy(Exception):
    """Another sender holds a fresh claim on the delivery: retry after its lease."""


def channel(name: str):
    return import_module(CHANNELS[name])


def _claim(pk: int, now) -> bool | None:
    """True: claimed fresh; False: claimed over a stale SENDING (a sender died); None: not ours."""
    rows = Delivery.objects.filter(pk=pk, status=Delivery.Status.PENDING)
    if rows.update(status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1):
        return True
    stale = Delivery.objects.filter(
        Q(claimed_at__lt=now - LEASE) | Q(claimed_at__isnull=True),
        pk=pk,
        status=Delivery.Status.SENDING,
    )
    if stale.update(claimed_at=now, attempts=F("attempts") + 1):
        return False
    return None


def _finish(delivery: Delivery, status: str, **fields) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        status=status, **fields
    )


def deliver(pk: int) -> str:
    """Send delivery `pk` unless it was sent, skipped or failed already; returns its status.

    Raises TemporaryFailure or Wait (the row is released to PENDING) and Busy for
    the task to retry.
    """
    now = timezone.now()
    claim = _claim(pk, now)
    if claim is None:
        delivery = Delivery.objects.get(pk=pk)
        if delivery.status == Delivery.Status.SENDING:
            raise Busy(f"delivery {pk} is being sent by another worker")
        return delivery.status
    delivery = Delivery.objects.select_related("message__recipient").get(pk=pk)
    sender = channel(delivery.channel)
    try:
        if claim is False and sender.was_sent(delivery):
            logger.info("delivery %s: sent before its sender died; not sent again", pk)
            _finish(delivery, Delivery.Status.SENT, sent_at=timezone.now())
            return Delivery.Status.SENT
        reference = sender.send(delivery)
    except NotSent as exc:
        _finish(delivery, Delivery.Status.SKIPPED, reason=str(exc)[:300])
        return Delivery.Status.SKIPPED
    except PermanentFailure as exc:
        logger.warning("delivery %s failed for good: %s", pk, exc)
        _finish(delivery, Delivery.Status.FAILED, reason=str(exc)[:300])
        return Delivery.Status.FAILED
    except Wait as exc:
        _finish(
            delivery, Delivery.Status.PENDING, reason=str(exc)[:300], attempts=F("attempts") - 1
        )
        raise
    except TemporaryFailure as exc:
        # Released for the retry. A channel that can ask its provider does so itself
        # before a send whose delivery was attempted before (attempts > 1).
        _finish(delivery, Delivery.Status.PENDING, reason=str(exc)[:300])
        raise
    _finish(delivery, Delivery.Status.SENT, sent_at=timezone.now(), provider_ref=reference[:100])
    return Delivery.Status.SENT
