"""How our Celery tasks retry: transient database trouble only, with backoff.

Every task is idempotent, so a retry (or a redelivery after a worker died,
with acks_late) can never do the work twice.
"""

from django.db import InterfaceError, OperationalError

RETRY_POLICY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 600,  # below the broker's visibility timeout (2 h)
    "retry_jitter": True,
    "max_retries": 8,
}
