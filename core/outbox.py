"""Enqueue a Celery task with the transaction that made its work: never lost.

``enqueue(task, *args, **kwargs)`` records an ``OutboxMessage`` in the current
transaction and sends it once that commits. The send runs as a robust
on-commit hook and catches every error of its own: with the broker down the
shopper still sees the page the committed change deserves, the other hooks of
the transaction still run, and the row waits. ``sweep()`` (beat, every minute,
in the worker) sends the rows older than a minute, so work is delayed by an
outage, never dropped. A row is deleted once the broker accepted the message;
a message sent twice (a sweep racing a slow send, a crash between send and
delete) is harmless because every task is idempotent.

When a send fails, this process stops trying the broker for a few seconds
(``OUTBOX_BROKER_RETRY_SECONDS``) and leaves new rows to the sweep, so an
outage costs one slow request per process, not every request.

Eager mode (no broker: ``make run`` without a worker, unit tests) is unchanged:
the task runs in-process on commit, and no row is written.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.celery import app as celery_app

from .models import OutboxMessage
from .task_policy import MAX_COUNTDOWN

logger = logging.getLogger(__name__)

SWEEP_AGE = timedelta(minutes=1)  # younger rows are still being sent on commit
SWEEP_BATCH = 500


class _Breaker:
    """After a failed send, skip the broker for a while (per process)."""

    def __init__(self):
        self.open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + settings.OUTBOX_BROKER_RETRY_SECONDS

    def reset(self) -> None:
        self.open_until = 0.0


breaker = _Breaker()


def enqueue(task, *args, countdown: int | None = None, **kwargs) -> OutboxMessage | None:
    """Send `task(*args, **kwargs)` once the current transaction commits, surely.

    Returns the outbox row (None in eager mode). Arguments must be JSON (ids,
    not objects). `countdown` (seconds) is capped by MAX_COUNTDOWN, which the
    broker's visibility timeout is sized for.
    """
    if countdown is not None and not 0 <= countdown <= MAX_COUNTDOWN:
        raise ValueError(f"countdown {countdown} outside 0..{MAX_COUNTDOWN} s")
    if celery_app.conf.task_always_eager:
        transaction.on_commit(lambda: task.apply_async(args, kwargs, countdown=countdown))
        return None
    message = OutboxMessage.objects.create(
        task=task.name, args=list(args), kwargs=kwargs, countdown=countdown
    )
    transaction.on_commit(lambda: send(message.pk), robust=True)
    return message


def _publish(message: OutboxMessage) -> None:
    celery_app.send_task(
        message.task, args=message.args, kwargs=message.kwargs, countdown=message.countdown
    )


def send(pk: int) -> bool:
    """Publish one outbox row and delete it; False (row kept) when the broker failed."""
    if breaker.is_open():
        return False
    message = OutboxMessage.objects.filter(pk=pk).first()
    if message is None:
        return True  # the sweep sent it already
    try:
        _publish(message)
    except Exception as exc:  # noqa: BLE001 - whatever the broker raised, the row waits
        breaker.trip()
        logger.warning("outbox: %s not sent, kept for the sweep: %r", message, exc)
        OutboxMessage.objects.filter(pk=pk).update(
            attempts=F("attempts") + 1, last_error=repr(exc)[:1000]
        )
        return False
    OutboxMessage.objects.filter(pk=pk).delete()
    return True


def sweep(older_than: timedelta = SWEEP_AGE, batch: int = SWEEP_BATCH) -> int:
    """Send the rows left by failed sends; returns how many were sent.

    Each row is claimed with a row lock (skipping rows another sweep holds), so
    concurrent sweeps do not send the same row twice. Stops at the first
    failure: the broker is still down, the next sweep tries again.
    """
    cutoff = timezone.now() - older_than
    pks = list(
        OutboxMessage.objects.filter(created_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    )
    sent = 0
    for pk in pks:
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            )
            if message is None:
                continue
            try:
                _publish(message)
            except Exception as exc:  # noqa: BLE001
                logger.warning("outbox sweep: broker still failing: %r", exc)
                break
            message.delete()
        sent += 1
    if sent:
        breaker.reset()
        logger.info("outbox sweep: sent %s message(s)", sent)
    return sent
