"""How our Celery tasks retry and how long the broker waits for a lost worker.

Every task is idempotent, so a retry (or a redelivery after a worker died,
with acks_late) can never do the work twice.

The numbers below hang together, and tests/core/test_task_policy.py checks it:
with the Redis broker, a message a worker took but has not acknowledged
(running, prefetched, or waiting for its countdown/ETA or a retry's backoff)
is handed to another worker once it is older than the visibility timeout. A
worker killed mid-task therefore delays its messages by that long, so we want
it short: minutes, not hours. But a message still legitimately waiting in a
live worker must never reach it, or the task runs twice: so the timeout stays
longer than the longest wait a live worker can give a message, the longest
countdown or retry backoff plus the hard time limit of the task running
ahead of it.
"""

from django.db import InterfaceError, OperationalError

# The longest countdown/ETA any of our enqueues may ask for (core.outbox refuses
# more). distributors.tree waits a few seconds to batch joins.
MAX_COUNTDOWN = 60
# A task is killed after this long (soft limit first, to clean up).
TASK_SOFT_TIME_LIMIT = 60
TASK_TIME_LIMIT = 90
# Retries wait 1, 2, 4 ... s (with jitter), never more than this.
RETRY_BACKOFF_MAX = 300
# Redelivery after a crash: 10 minutes, above 300 + 90 with room to spare.
VISIBILITY_TIMEOUT = 10 * 60

RETRY_POLICY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": 8,
}


def longest_wait_in_a_live_worker() -> int:
    """Seconds a live worker may hold a message unacknowledged before running it."""
    return max(MAX_COUNTDOWN, RETRY_BACKOFF_MAX) + TASK_TIME_LIMIT
