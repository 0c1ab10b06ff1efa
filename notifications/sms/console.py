"""The default SMS backend: each SMS is printed, not sent, and kept in `outbox`.

Like Django's console and locmem email backends in one: a developer sees the
SMS in the terminal of `make run` or the worker, and a test reads
``notifications.sms.console.outbox`` (this process's SMS, oldest first; a test
clears it).
"""

import sys
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.utils import timezone

from .base import SmsBackend


@dataclass(frozen=True)
class ConsoleSms:
    phone: str
    sign_name: str
    template_code: str
    params: dict[str, str]
    out_id: str
    reference: str
    sent_at: datetime = field(default_factory=timezone.now)


outbox: list[ConsoleSms] = []
_lock = threading.Lock()


class ConsoleBackend(SmsBackend):
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, phone: str, template_code: str, params: dict[str, str], out_id: str) -> str:
        sms = ConsoleSms(
            phone=phone,
            sign_name=settings.SMS_SIGN_NAME,
            template_code=template_code,
            params=dict(params),
            out_id=out_id,
            reference=f"console-{uuid.uuid4().hex[:16]}",
        )
        with _lock:
            outbox.append(sms)
            values = ", ".join(f"{key}={value}" for key, value in sms.params.items())
            self.stream.write(
                f"SMS to {phone} 【{sms.sign_name}】 {template_code} ({values}) "
                f"out_id={out_id} ref={sms.reference}\n"
            )
            self.stream.flush()
        return sms.reference

    def query(self, phone: str, out_id: str, sent_on: date) -> bool | None:
        """True for an SMS this process printed; None otherwise (another process may have)."""
        with _lock:
            if any(sms.phone == phone and sms.out_id == out_id for sms in outbox):
                return True
        return None
