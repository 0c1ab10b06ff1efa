"""The sandbox gateway: a hosted payment page on the site itself.

It behaves like Alipay's page-pay: the shopper is sent to a page that takes the
payment, and the gateway then POSTs a form-encoded notification, signed with
HMAC-SHA256 over the sorted `key=value` pairs (sign and sign_type excluded),
to our notify URL, delivering again until it is answered `success`.

Each delivery is signed afresh, at once, by our own worker: a notification whose
notify_time is more than NOTIFY_MAX_AGE away from now is a replay and refused
(WeChat Pay allows 5 minutes; Alipay, which retries for a day with the original
time, cannot be held to this). A repeated notify_id is a duplicate, through the
same dedupe as the real gateways' ids (payments.services.handle_notification).
"""

import hashlib
import hmac
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from .base import (
    PENDING,
    SANDBOX,
    SUCCEEDED,
    Checkout,
    Gateway,
    InvalidNotification,
    Notification,
    RefundFailed,
    RefundResult,
    TradeStatus,
)

SIGN_TYPE = "HMAC-SHA256"
TRADE_SUCCESS = "TRADE_SUCCESS"
NOTIFY_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Beijing time, as Alipay writes it
NOTIFY_MAX_AGE = timedelta(minutes=10)


def signing_string(params: dict[str, str]) -> str:
    return "&".join(
        f"{key}={params[key]}"
        for key in sorted(params)
        if key not in ("sign", "sign_type") and params[key] != ""
    )


def sign(params: dict[str, str], secret: str | None = None) -> str:
    key = (secret or settings.SANDBOX_GATEWAY_SECRET).encode()
    return hmac.new(key, signing_string(params).encode(), hashlib.sha256).hexdigest()


def trade_no_for(reference: str) -> str:
    """The sandbox's own id for a trade: the same for every delivery of one payment."""
    digest = hashlib.sha256(f"sandbox-trade:{reference}".encode()).hexdigest()[:20]
    return f"SBX{digest.upper()}"


def build_notification(
    payment, *, secret: str | None = None, sent_at: datetime | None = None
) -> dict[str, str]:
    """The signed form a real gateway would post for a successful `payment` (now)."""
    params = {
        "notify_id": uuid.uuid4().hex,
        "notify_time": timezone.localtime(sent_at).strftime(NOTIFY_TIME_FORMAT),
        "out_trade_no": payment.reference,
        "trade_no": trade_no_for(payment.reference),
        "total_amount": f"{payment.amount:.2f}",
        "trade_status": TRADE_SUCCESS,
        "sign_type": SIGN_TYPE,
    }
    params["sign"] = sign(params, secret)
    return params


def post_form(url: str, params: dict[str, str], timeout: float = 10) -> tuple[int, str]:
    """Deliver a notification over HTTP, as the gateway's servers would."""
    data = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310 - our own URL
    request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


class SandboxGateway(Gateway):
    code = "sandbox"
    channels = (SANDBOX,)

    def start(self, payment, *, request, notify_url: str, return_url: str, openid="") -> Checkout:
        return Checkout(redirect_url=reverse("payments_pages:sandbox", args=[payment.reference]))

    def query(self, payment) -> TradeStatus:
        """The sandbox tells only by its notification: until then a payment is unpaid."""
        return TradeStatus(reference=payment.reference, state=PENDING)

    def close(self, payment) -> None:
        """The sandbox page refuses a payment that is no longer CREATED; nothing to tell."""

    def parse_notification(self, request) -> Notification:
        params = request.POST.dict()
        received = params.get("sign", "")
        if params.get("sign_type") != SIGN_TYPE or not hmac.compare_digest(received, sign(params)):
            raise InvalidNotification("bad signature")
        try:
            sent = timezone.make_aware(
                datetime.strptime(params.get("notify_time", ""), NOTIFY_TIME_FORMAT)
            )
        except ValueError as exc:
            raise InvalidNotification(f"missing or malformed notify_time: {exc}") from exc
        if abs(timezone.now() - sent) > NOTIFY_MAX_AGE:
            raise InvalidNotification(f"stale notify_time {params['notify_time']}")
        try:
            amount = Decimal(params["total_amount"])
            return Notification(
                reference=params["out_trade_no"],
                trade_no=params["trade_no"],
                amount=amount,
                succeeded=params["trade_status"] == TRADE_SUCCESS,
                payload=params,
                notification_id=params.get("notify_id", ""),
            )
        except (KeyError, InvalidOperation) as exc:
            raise InvalidNotification(f"missing or malformed field: {exc}") from exc

    def refund(
        self, payment, amount: Decimal, reason: str, *, request_no: str, notify_url: str = ""
    ) -> RefundResult:
        """Accepts any refund within the payment, at once. The id is derived from the
        request number, so asking twice with the same number answers with the same
        refund, as Alipay does for a repeated out_request_no."""
        if not Decimal("0") < amount <= payment.amount:
            raise RefundFailed(f"refund {amount} outside payment {payment.amount}")
        digest = hashlib.sha256(f"{payment.reference}:{request_no}".encode()).hexdigest()
        return RefundResult(
            request_no=request_no,
            state=SUCCEEDED,
            gateway_reference=f"SBXR{payment.reference[1:9]}{digest[:12].upper()}",
            amount=amount,
        )
