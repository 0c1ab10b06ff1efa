"""The SMS channel of site messages: ``send`` and ``was_sent`` (see notifications.deliveries).

An SMS is the provider's approved template for the message's kind
(settings.SMS_TEMPLATES) filled with the parameters the event gave
(``message.data["sms"]``), under our signature (settings.SMS_SIGN_NAME), sent
by the backend settings.SMS_BACKEND names: "console" (printed, the default) or
"aliyun" (Aliyun SMS). Before the backend is called:

- the number must be a mainland mobile number, else nothing is sent (NotSent);
- the number's rate limit (settings.SMS_RATE_LIMITS, Aliyun's own by default:
  1 a minute, 5 an hour, 10 a day) counts the SMS sent to it in each window:
  over the hour or day limit the SMS is not sent (NotSent: it would be stale
  by the time it may go); over the minute limit it waits (Wait: the task, or
  the resend sweep after its retries, tries again; waiting is no attempt).
  Two SMS to one number at the same instant may both pass; the provider's own
  limit (a TemporaryFailure) is the backstop.
- a delivery tried before (a timeout leaves it unknown whether the SMS went
  out) asks the provider by OutId first, so a retry never sends twice.

The OutId is the delivery's idempotency key; `was_sent` asks the provider for
it on each day (Beijing time) since the message was made.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notifications.deliveries import NotSent, PermanentFailure, Wait
from notifications.models import Channel, Delivery
from notifications.services import valid_phone

from .base import SmsBackend

__all__ = ["backend", "check_rate_limit", "send", "was_sent"]

BACKENDS = {
    "console": "notifications.sms.console.ConsoleBackend",
    "aliyun": "notifications.sms.aliyun.AliyunBackend",
}
WINDOWS = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
# Over these the SMS is not sent at all; over the others it waits.
FINAL_WINDOWS = ("day", "hour")
OVER_LIMIT = {
    "minute": gettext_lazy(
        "This number got %(count)d SMS in the last minute, the most allowed: it is sent later."
    ),
    "hour": gettext_lazy(
        "This number got %(count)d SMS in the last hour, the most allowed: not sent."
    ),
    "day": gettext_lazy(
        "This number got %(count)d SMS in the last 24 hours, the most allowed: not sent."
    ),
}
# Aliyun's SendDate and QuerySendDetails days are Beijing time.
PROVIDER_DAYS = ZoneInfo("Asia/Shanghai")
# Aliyun keeps send records for 30 days.
MAX_QUERY_DAYS = 30


def backend() -> SmsBackend:
    """The backend settings.SMS_BACKEND names ("console", "aliyun" or a dotted path)."""
    return import_string(BACKENDS.get(settings.SMS_BACKEND, settings.SMS_BACKEND))()


def check_rate_limit(phone: str, *, now=None) -> None:
    """Raise NotSent (over the hour or day limit) or Wait (over the minute limit) when
    `phone` got its most SMS allowed; one query on delivery_rate_limit."""
    limits = {
        window: count
        for window, count in settings.SMS_RATE_LIMITS.items()
        if count and window in WINDOWS  # another name is refused by `manage.py check`
    }
    if not limits:
        return
    now = now or timezone.now()
    counts = Delivery.objects.filter(
        channel=Channel.SMS,
        address=phone,
        sent_at__gt=now - max(WINDOWS[window] for window in limits),
    ).aggregate(
        **{window: Count("pk", filter=Q(sent_at__gt=now - WINDOWS[window])) for window in limits}
    )
    for window in sorted(limits, key=lambda window: window not in FINAL_WINDOWS):
        if counts[window] >= limits[window]:
            reason = OVER_LIMIT[window] % {"count": limits[window]}
            raise NotSent(reason) if window in FINAL_WINDOWS else Wait(reason)


def _template(delivery: Delivery) -> str:
    kind = delivery.message.kind
    code = settings.SMS_TEMPLATES.get(kind)
    if not code:
        raise NotSent(_("No SMS template is set for %(kind)s: not sent.") % {"kind": kind})
    return code


def _params(delivery: Delivery) -> dict[str, str]:
    return {str(key): str(value) for key, value in (delivery.message.data.get("sms") or {}).items()}


def _ask(sms: SmsBackend, delivery: Delivery) -> bool | None:
    """Whether the provider has the delivery's OutId, on any day since the message was made."""
    delivery._sms_asked = True  # send() after was_sent() in one deliver() need not ask again
    today = timezone.localtime(timezone.now(), PROVIDER_DAYS).date()
    first = timezone.localtime(delivery.created_at, PROVIDER_DAYS).date()
    first = max(first, today - timedelta(days=MAX_QUERY_DAYS))
    unknown = False
    day = today
    while day >= first:
        answer = sms.query(delivery.address, delivery.idempotency_key, day)
        if answer:
            return True
        unknown = unknown or answer is None
        day -= timedelta(days=1)
    return None if unknown else False


def send(delivery: Delivery) -> str:
    """Send the delivery's SMS once; returns the provider's reference (Aliyun's BizId).

    Raises NotSent (a number that is no mobile, no template for the kind, over the
    hour or day limit), Wait (over the minute limit), TemporaryFailure (the provider
    busy or silent) or PermanentFailure (the provider refused the SMS).
    """
    phone = delivery.address
    if not valid_phone(phone):
        raise NotSent(_("Not a mainland mobile number: not sent."))
    template_code = _template(delivery)
    sms = backend()
    asked = getattr(delivery, "_sms_asked", False)
    if delivery.attempts > 1 and not asked and _ask(sms, delivery):
        return delivery.idempotency_key
    check_rate_limit(phone)
    return sms.send(phone, template_code, _params(delivery), delivery.idempotency_key)


def was_sent(delivery: Delivery) -> bool | None:
    """Whether the provider sent an SMS under the delivery's OutId (None: cannot say).

    Raises TemporaryFailure when the provider cannot be asked now: a resend could
    be a second SMS, so the question waits.
    """
    if not valid_phone(delivery.address):
        return False
    try:
        sms = backend()
    except PermanentFailure:
        return None  # not configured: send() says so for good
    return _ask(sms, delivery)
