"""What the payments app needs of a gateway (sandbox, Alipay, WeChat Pay), in our own terms.

A gateway turns our records into the provider's requests and the provider's
answers and notifications back into the small value objects below; it writes
nothing to our database. payments.services owns every write: it locks, dedupes
and records, so each gateway stays a translation layer that can be tested
against a fake of the provider's documented API.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

# The gateways' clock: trade expiry times, bill days and the times in bills.
SHANGHAI = ZoneInfo("Asia/Shanghai")


class GatewayError(Exception):
    """The gateway could not be reached or answered with an error; str() says why.

    Nothing is known to have happened at the gateway: the caller may retry with
    the same request number.
    """


class RefundFailed(GatewayError):
    """The gateway refused a refund; str() says why. Nothing was refunded."""


class InvalidNotification(Exception):
    """A notification whose signature or fields do not check out."""


# Ways to pay (payment channels). The sandbox has one; Alipay two; WeChat Pay three.
SANDBOX = "sandbox"
ALIPAY_PAGE = "page"  # 电脑网站支付 alipay.trade.page.pay (desktop)
ALIPAY_WAP = "wap"  # 手机网站支付 alipay.trade.wap.pay (phone browser)
WECHAT_NATIVE = "native"  # Native: a QR code on our cashier (desktop)
WECHAT_H5 = "h5"  # H5: phone browser outside WeChat
WECHAT_JSAPI = "jsapi"  # JSAPI: inside WeChat's own browser (needs the openid)

# What a gateway says a trade, refund or transfer is.
PENDING = "pending"  # not paid yet / accepted, not finished (PROCESSING)
SUCCEEDED = "succeeded"
CLOSED = "closed"  # a trade closed unpaid; a refund or transfer that failed
WAITING_CONFIRMATION = "waiting_confirmation"  # a WeChat transfer the payee must accept


@dataclass(frozen=True)
class Checkout:
    """How the shopper pays one payment: go somewhere, scan a code, or call WeChat's bridge.

    Exactly one of the three is set.
    """

    redirect_url: str = ""  # send the browser there (Alipay, WeChat H5, the sandbox page)
    qr_code: str = ""  # draw this as a QR code on our cashier (WeChat Native code_url)
    jsapi: dict | None = None  # WeixinJSBridge getBrandWCPayRequest parameters (WeChat JSAPI)


@dataclass(frozen=True)
class Notification:
    """What a verified payment notification (or a trade query) tells us."""

    reference: str  # our Payment.reference (out_trade_no)
    trade_no: str  # the gateway's id of the trade
    amount: Decimal  # what the gateway charged, in yuan
    succeeded: bool
    payload: dict
    # The provider's id of this notification (Alipay notify_id, WeChat Pay's id):
    # a second delivery of one notification is recognised by it.
    notification_id: str = ""


@dataclass(frozen=True)
class TradeStatus:
    """The gateway's answer to a trade query (alipay.trade.query, WeChat's order query)."""

    reference: str
    state: str  # PENDING, SUCCEEDED or CLOSED
    trade_no: str = ""
    amount: Decimal | None = None
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    """A refund as the gateway sees it (the answer to a refund, a refund query or notification)."""

    request_no: str  # our Refund.request_no (out_request_no / out_refund_no)
    state: str  # PENDING (accepted, finishing later), SUCCEEDED or CLOSED (failed)
    gateway_reference: str = ""  # the gateway's refund id
    amount: Decimal | None = None
    reason: str = ""  # why it failed, for people
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TransferRequest:
    """Money to send to a payee's own account (a distributor's withdrawal)."""

    bill_no: str  # our number for the transfer (out_biz_no / out_bill_no): one per payout
    amount: Decimal
    account: str  # Alipay login id (phone or email) / WeChat openid
    name: str  # the payee's real name, which the gateway checks
    remark: str
    notify_url: str = ""  # where the gateway tells us the transfer finished (WeChat Pay)


@dataclass(frozen=True)
class TransferResult:
    bill_no: str
    state: str  # PENDING, WAITING_CONFIRMATION, SUCCEEDED or CLOSED (failed / refused)
    gateway_reference: str = ""
    reason: str = ""  # why it failed, in the gateway's words, shown to the payee
    # WeChat's package_info: what the payee's WeChat needs to accept the transfer.
    confirmation: str = ""
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BillLine:
    """One line of a gateway's daily bill (对账单)."""

    kind: str  # "payment" or "refund"
    reference: str  # our out_trade_no (payment) or request number (refund)
    gateway_reference: str  # the gateway's trade or refund id
    amount: Decimal  # positive, in yuan
    at: datetime | None = None


class Gateway(ABC):
    """One payment provider. Subclasses implement what the provider offers.

    Methods a provider lacks raise NotImplementedError; gateways raise
    GatewayError for a failure to reach or an error answer of the provider.
    """

    code: str
    # Every way to pay this gateway has.
    channels: tuple[str, ...] = ()

    def channels_for(self, request: HttpRequest) -> tuple[str, ...]:
        """The ways to pay offered on the shopper's device, the one that suits it first."""
        return self.channels

    @abstractmethod
    def start(
        self, payment, *, request: HttpRequest, notify_url: str, return_url: str, openid: str = ""
    ) -> Checkout:
        """Open `payment` (its .channel says how) at the gateway; how the shopper pays it.

        `openid` is the payer's WeChat identity, which WeChat Pay's JSAPI needs.
        """

    @abstractmethod
    def parse_notification(self, request: HttpRequest) -> Notification:
        """Verify and read a payment notification; InvalidNotification if bad."""

    def query(self, payment) -> TradeStatus:
        """Ask the gateway what became of `payment` (for a notification that never came)."""
        raise NotImplementedError

    def close(self, payment) -> None:
        """Close an unpaid `payment` at the gateway, so it can no longer be paid."""
        raise NotImplementedError

    @abstractmethod
    def refund(
        self, payment, amount: Decimal, reason: str, *, request_no: str, notify_url: str = ""
    ) -> RefundResult:
        """Give `amount` (at most what is left of `payment`) back.

        `request_no` names this refund to the gateway (Alipay's out_request_no,
        WeChat Pay's out_refund_no): asked again with the same number, a gateway
        answers with the refund it already made instead of paying twice, so a
        refund whose recording failed on our side can be retried safely.
        Raises RefundFailed when the gateway refuses; nothing was refunded then.
        """

    def query_refund(self, refund) -> RefundResult:
        """Ask the gateway what became of `refund` (a payments.Refund)."""
        raise NotImplementedError

    def parse_refund_notification(self, request: HttpRequest) -> RefundResult:
        """Verify and read a refund notification; InvalidNotification if bad."""
        raise InvalidNotification(f"{self.code} sends no refund notifications")

    def transfer(self, transfer: TransferRequest) -> TransferResult:
        """Pay `transfer` to the payee. Idempotent by transfer.bill_no at the gateway."""
        raise NotImplementedError

    def query_transfer(self, bill_no: str) -> TransferResult:
        raise NotImplementedError

    def parse_transfer_notification(self, request: HttpRequest) -> TransferResult:
        raise InvalidNotification(f"{self.code} sends no transfer notifications")

    def bill(self, day: date) -> list[BillLine]:
        """The gateway's bill of `day` (Asia/Shanghai): every payment and refund."""
        raise NotImplementedError

    def acknowledge(self) -> HttpResponse:
        """The answer that stops the gateway from delivering again."""
        return HttpResponse("success", content_type="text/plain")

    def reject(self) -> HttpResponse:
        """The answer for a notification we refuse; the gateway will retry or alert."""
        return HttpResponse("fail", content_type="text/plain", status=400)


def read_key(value: str) -> str:
    """A PEM key or certificate from a setting: the PEM itself (\\n may be escaped) or a path."""
    value = (value or "").strip()
    if not value:
        return ""
    if value.startswith("-----BEGIN"):
        return value.replace("\\n", "\n")
    return Path(value).read_text()


def unpaid_deadline(payment) -> datetime:
    """When `payment`'s order is cancelled unpaid, in Shanghai time: its trade expires
    then, so the gateway stops taking money for an order we cancel.

    Kept between 2 minutes (Alipay's wap pay counts in whole minutes, its
    minimum is one) and 15 days (Alipay's maximum) from now.
    """
    now = timezone.now()
    deadline = payment.order.unpaid_deadline()
    deadline = min(max(deadline, now + timedelta(minutes=2)), now + timedelta(days=15))
    return deadline.astimezone(SHANGHAI)


def bill_time(text: str) -> datetime | None:
    """A time in a gateway's bill ("2026-12-01 09:30:00", Shanghai), or None."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        return None
