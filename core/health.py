"""/health/: the database, the cache, the broker, beat with a worker behind it, the outbox.

django-health-check runs the database and cache checks; the two below are ours.
A load balancer or monitor polls /health/ (HTTP 500 with the failing part named
when something is down; ?format=json for machines); /health/live/ only says the
process answers, for a supervisor that should restart it and nothing more.
"""

import dataclasses
from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from kombu.exceptions import OperationalError

from config.celery import app

from .models import Heartbeat, OutboxMessage

# Tasks waiting in the outbox longer than this: the broker is down or nothing sweeps.
OUTBOX_MAX_AGE = timedelta(minutes=10)


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (nothing to check when tasks run eagerly)."""

    def run(self):
        if app.conf.task_always_eager:
            return
        try:
            with app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=3)
        except (OSError, OperationalError) as exc:
            raise ServiceUnavailable("broker unreachable") from exc


@dataclasses.dataclass
class Beat(HealthCheck):
    """Beat's heartbeat task ran lately, so beat schedules and a worker consumes."""

    async def run(self):  # async: the ORM call runs on the request's own connection
        if app.conf.task_always_eager:
            return
        beat = await Heartbeat.objects.filter(name="beat").afirst()
        if beat is None:
            raise ServiceUnavailable("beat has never run")
        if timezone.now() - beat.at > settings.HEALTH_BEAT_MAX_AGE:
            raise ServiceUnavailable(f"beat last ran at {beat.at:%Y-%m-%d %H:%M:%S%z}")


@dataclasses.dataclass
class Outbox(HealthCheck):
    """Nothing has waited in the outbox for long (core.outbox; swept every minute)."""

    async def run(self):
        oldest = await OutboxMessage.objects.order_by("created_at").values("created_at").afirst()
        if oldest and timezone.now() - oldest["created_at"] > OUTBOX_MAX_AGE:
            raise ServiceUnavailable(f"tasks waiting since {oldest['created_at']:%H:%M:%S%z}")


health = HealthCheckView.as_view(
    checks=["health_check.checks.Database", "health_check.checks.Cache", Broker, Beat, Outbox]
)


@never_cache
def live(request):
    return HttpResponse("ok", content_type="text/plain")
