from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpRequest, HttpResponse


class RefundFailed(Exception):
    """The gateway refused a refund; str() says why."""


class InvalidNotification(Exception):
    """A notification whose signature or fields do not check out."""


@dataclass(frozen=True)
class Notification:
    """What a verified gateway notification tells us, in our own terms."""

    reference: str  # our Payment.reference (out_trade_no)
    trade_no: str  # the gateway's id of the trade
    amount: Decimal
    succeeded: bool
    payload: dict


class Gateway(ABC):
    """What the payments app needs of a gateway (sandbox, Alipay, WeChat Pay)."""

    code: str

    @abstractmethod
    def checkout_url(self, payment, *, request: HttpRequest) -> str:
        """Where to send the shopper to pay `payment`."""

    @abstractmethod
    def parse_notification(self, request: HttpRequest) -> Notification:
        """Verify and read a server-to-server notification; InvalidNotification if bad."""

    @abstractmethod
    def refund(self, payment, amount: Decimal, reason: str, *, request_no: str) -> str:
        """Give `amount` (at most what is left of `payment`) back; returns the refund's id.

        `request_no` names this refund to the gateway (Alipay's out_request_no,
        WeChat Pay's out_refund_no): asked again with the same number, a gateway
        answers with the refund it already made instead of paying twice, so a
        refund whose recording failed on our side can be retried safely.
        Raises RefundFailed when the gateway refuses; nothing was refunded then.
        """

    def acknowledge(self) -> HttpResponse:
        """The answer that stops the gateway from delivering again."""
        return HttpResponse("success", content_type="text/plain")

    def reject(self) -> HttpResponse:
        """The answer for a notification we refuse; the gateway will retry or alert."""
        return HttpResponse("fail", content_type="text/plain", status=400)
