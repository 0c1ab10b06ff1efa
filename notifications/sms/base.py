"""What an SMS provider does for us: send one templated SMS, and say whether one went out.

A backend is a class with two methods; ``notifications.sms`` picks it by
``settings.SMS_BACKEND`` ("console", "aliyun", or a dotted path) and adds what
every provider shares (the number checked, the template looked up, the
per-number rate limit, the question before a resend). Its failures are the
channel's: ``TemporaryFailure`` (worth trying again: throttled, 5xx, no
answer) and ``PermanentFailure`` (refused for good: a bad number, an unknown
template or signature), from ``notifications.deliveries``.
"""

from datetime import date

from notifications.deliveries import PermanentFailure, TemporaryFailure

__all__ = ["PermanentFailure", "SmsBackend", "TemporaryFailure"]


class SmsBackend:
    def send(self, phone: str, template_code: str, params: dict[str, str], out_id: str) -> str:
        """Send template `template_code` filled with `params` to `phone`, under the
        signature of settings.SMS_SIGN_NAME; returns the provider's reference of it.

        `out_id` names the send at the provider (the delivery's idempotency key), so
        `query` can find it again.
        """
        raise NotImplementedError

    def query(self, phone: str, out_id: str, sent_on: date) -> bool | None:
        """Whether an SMS sent under `out_id` to `phone` on `sent_on` (a date in
        Beijing time) went out: True, False, or None when the provider cannot say.
        Raises TemporaryFailure when the provider could not be asked now."""
        raise NotImplementedError
