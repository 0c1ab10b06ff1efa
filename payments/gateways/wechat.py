"""WeChat Pay API v3 (微信支付) on the wechatpayv3 SDK: Native, H5 and JSAPI payments,
refunds, 商家转账 transfers and the daily trade bill (交易账单).

The SDK signs every request with the merchant API key (WECHATPAY2-SHA256-RSA2048
over "METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n") and verifies every answer with
WeChat Pay's key: the WeChat Pay public key (微信支付公钥, PUB_KEY_ID_...) when
WECHATPAY_PUBLIC_KEY/_ID are set, otherwise the platform certificates (平台证书)
it downloads from /v3/certificates into WECHATPAY_CERT_DIR. Notifications are
verified the same way and their resource decrypted (AEAD_AES_256_GCM with the
APIv3 key); the SDK does not look at Wechatpay-Timestamp, so we refuse one more
than five minutes off our clock ourselves (a replayed notification).

WeChat answers errors as an HTTP status plus {"code", "message"}. A 5xx,
FREQUENCY_LIMITED or a failure to reach it leaves the outcome unknown: we raise
GatewayError and the caller retries with the same out_refund_no / out_bill_no,
which WeChat answers with the refund or transfer it already made. Other 4xx
answers are refusals: nothing was done.
"""

import dataclasses
import gzip
import hashlib
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.core import Core
from wechatpayv3.type import RequestType

from core.devices import client_ip, in_wechat, is_phone

from .base import (
    CLOSED,
    PENDING,
    SUCCEEDED,
    WAITING_CONFIRMATION,
    WECHAT_H5,
    WECHAT_JSAPI,
    WECHAT_NATIVE,
    BillLine,
    Checkout,
    Gateway,
    GatewayError,
    InvalidNotification,
    Notification,
    RefundFailed,
    RefundResult,
    TradeStatus,
    TransferRequest,
    TransferResult,
    bill_time,
    read_key,
    unpaid_deadline,
)

CENT = Decimal("0.01")
# (connect, read) seconds: a payment page must not hang on a slow gateway.
TIMEOUT = (5, 15)
# A notification whose Wechatpay-Timestamp is further off our clock is a replay.
MAX_CLOCK_SKEW = 300
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
# 商家转账: a payee's real name is required (and checked) from 2,000 yuan on.
NAME_REQUIRED_FROM = Decimal("2000")
# Scene 1005 (佣金报酬) must report the payee's role and what the money is for.
SCENE_REPORT_INFOS = {
    "1005": [
        {"info_type": "岗位类型", "info_content": "分销员"},
        {"info_type": "报酬说明", "info_content": "分销佣金"},
    ],
}

TRADE_STATES = {
    "SUCCESS": SUCCEEDED,
    "REFUND": SUCCEEDED,  # paid, then (partly) refunded: it was paid
    "NOTPAY": PENDING,
    "USERPAYING": PENDING,
    "CLOSED": CLOSED,
    "REVOKED": CLOSED,
    "PAYERROR": CLOSED,
}
# ABNORMAL (the shopper's account cannot take the money) is not final: finance
# resolves it in the merchant platform (异常退款), and the refund then ends SUCCESS.
# So it stays PENDING: a refund retried under a new number could pay twice.
REFUND_STATES = {
    "SUCCESS": SUCCEEDED,
    "PROCESSING": PENDING,
    "ABNORMAL": PENDING,
    "CLOSED": CLOSED,
}
# Kept on the refund for finance, in the shop's language.
REFUND_FAILURES = {
    "CLOSED": gettext_lazy("WeChat Pay closed the refund (CLOSED)"),
    "ABNORMAL": gettext_lazy(
        "The shopper's account could not receive the refund (ABNORMAL): "
        "resolve it in the WeChat Pay merchant platform."
    ),
}
TRANSFER_STATES = {
    "ACCEPTED": PENDING,
    "PROCESSING": PENDING,
    "TRANSFERING": PENDING,
    "CANCELING": PENDING,
    "WAIT_USER_CONFIRM": WAITING_CONFIRMATION,
    "SUCCESS": SUCCEEDED,
    "FAIL": CLOSED,
    "CANCELLED": CLOSED,
}
# Answers that refuse nothing about the request itself (WeChat's trouble, a rate
# limit, our own keys): GatewayError, so the same number is asked again later and a
# refund or transfer is never given up for them.
TRANSIENT_CODES = {"SYSTEM_ERROR", "FREQUENCY_LIMITED", "BANK_ERROR", "SIGN_ERROR"}


@dataclass(frozen=True)
class Config:
    """The settings a client is built from; a change (in tests) builds a new client."""

    mchid: str
    appid: str
    apiv3_key: str
    private_key: str
    cert_serial_no: str
    public_key: str
    public_key_id: str
    cert_dir: str
    base_url: str

    @property
    def public_key_mode(self) -> bool:
        return bool(self.public_key and self.public_key_id)

    @classmethod
    def from_settings(cls) -> "Config":
        """The config of the present settings; the key files are read once per value."""
        return _config_of(
            settings.WECHATPAY_MCHID,
            settings.WECHATPAY_APPID,
            settings.WECHATPAY_APIV3_KEY,
            settings.WECHATPAY_PRIVATE_KEY,
            settings.WECHATPAY_CERT_SERIAL_NO,
            settings.WECHATPAY_PUBLIC_KEY,
            settings.WECHATPAY_PUBLIC_KEY_ID,
            str(settings.WECHATPAY_CERT_DIR),
            settings.WECHATPAY_BASE_URL,
        )


@lru_cache(maxsize=8)
def _config_of(
    mchid, appid, apiv3_key, private_key, serial, public_key, public_key_id, cert_dir, base_url
) -> Config:
    return Config(
        mchid=mchid,
        appid=appid,
        apiv3_key=apiv3_key,
        private_key=read_key(private_key),
        cert_serial_no=serial,
        public_key=read_key(public_key),
        public_key_id=public_key_id,
        cert_dir=cert_dir,
        base_url=base_url.rstrip("/"),
    )


class _Core(Core):
    """The SDK's Core talking to `base_url` instead of its hard-coded production host.

    Core's constructor sets the production URL and, in platform-certificate
    mode, downloads the certificates from it before returning; so the base is
    set again just before that download, and after the constructor.
    """

    def __init__(self, *, base_url: str, **kwargs):
        self._base_url = base_url
        super().__init__(**kwargs)
        self._gate_way = base_url

    def _init_certificates(self):
        self._gate_way = self._base_url
        super()._init_certificates()


class _WeChatPay(WeChatPay):
    """WeChatPay on our _Core. WeChatPay.__init__ is not called: it would build the
    SDK's own Core, which reaches production in certificate mode. It only sets
    the attributes below (wechatpayv3 2.x, pinned in pyproject)."""

    def __init__(self, config: Config):
        self._type = WeChatPayType.NATIVE  # each pay() call names its own type
        self._mchid = config.mchid
        self._appid = config.appid
        self._notify_url = None
        self._partner_mode = False
        public_mode = config.public_key_mode
        self._core = _Core(
            base_url=config.base_url,
            mchid=config.mchid,
            cert_serial_no=config.cert_serial_no,
            private_key=config.private_key,
            apiv3_key=config.apiv3_key,
            cert_dir=None if public_mode else config.cert_dir,
            timeout=TIMEOUT,
            public_key=config.public_key if public_mode else None,
            public_key_id=config.public_key_id if public_mode else None,
        )

    def transfer_bill(self, params: dict, user_name: str = ""):
        """POST /v3/fund-app/mch-transfer/transfer-bills with exactly `params`.

        The SDK's mch_transfer_bills always sends "notify_url", as null when there
        is none, where WeChat documents an optional string (a typed field a null
        may fail with PARAM_ERROR); so we send the body ourselves,
        encrypting the name (RSA-OAEP with the WeChat Pay public key or newest
        platform certificate, which the Wechatpay-Serial header then names) as
        mch_transfer_bills does.
        """
        params = dict(params)
        if user_name:
            params["user_name"] = self._core.encrypt(user_name)
        return self._core.request(
            "/v3/fund-app/mch-transfer/transfer-bills",
            method=RequestType.POST,
            data=params,
            cipher_data=bool(user_name),
        )


# When a notification with an unknown certificate serial last let the SDK download the
# platform certificates, per config.
_certificates_fetched: dict[Config, float] = {}
CERTIFICATE_REFRESH = 600  # seconds


@lru_cache(maxsize=8)
def _client_for(config: Config) -> _WeChatPay:
    return _WeChatPay(config)


def _event_payload(envelope: dict, resource: dict) -> dict:
    """What we keep of a notification: its decrypted resource, its event and id."""
    return {
        **resource,
        "event_type": envelope["event_type"],
        "notification_id": envelope.get("id", ""),
    }


def fen(amount: Decimal) -> int:
    """Yuan as WeChat's integer fen (分); an amount finer than a fen is a bug upstream."""
    value = Decimal(amount) * 100
    if value != value.to_integral_value():
        raise GatewayError(f"{amount} is not a whole number of fen")
    return int(value)


def yuan(value) -> Decimal:
    return (Decimal(int(value)) / 100).quantize(CENT)


def _json(body) -> dict:
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {"raw": body[:500]}
    return data if isinstance(data, dict) else {"raw": data}


def _why(status: int, data: dict) -> str:
    code = data.get("code") or f"HTTP {status}"
    message = data.get("message") or data.get("raw") or ""
    return f"{code}: {message}" if message else str(code)


def _is_transient(status: int, data: dict) -> bool:
    return status >= 500 or status == 429 or data.get("code") in TRANSIENT_CODES


def _request_headers(request) -> dict[str, str]:
    """The Wechatpay-* headers as the SDK's verifier expects them."""
    headers = {
        name: request.headers.get(name, "")
        for name in (
            "Wechatpay-Timestamp",
            "Wechatpay-Nonce",
            "Wechatpay-Signature",
            "Wechatpay-Serial",
        )
    }
    # The only signature type WeChat Pay documents for RSA keys; the SDK refuses
    # a missing header, so a sender that omits it is treated as meaning that one.
    headers["Wechatpay-Signature-Type"] = (
        request.headers.get("Wechatpay-Signature-Type") or SIGNATURE_TYPE
    )
    return headers


def _money(row: dict[str, str], *names: str) -> Decimal:
    """The first of `names` that is not zero (WeChat fills both an order's amount and
    its settlement amount; a refund's requested and refunded amounts)."""
    for name in names:
        value = row.get(name, "")
        if value and Decimal(value) != 0:
            return Decimal(value).quantize(CENT)
    return Decimal("0.00")


def _bill_line(row: dict[str, str]) -> BillLine | None:
    at = bill_time(row["交易时间"])
    state = row.get("交易状态")
    if state == "SUCCESS":
        return BillLine(
            kind="payment",
            reference=row["商户订单号"],
            gateway_reference=row["微信订单号"],
            amount=_money(row, "订单金额", "应结订单金额"),
            at=at,
        )
    if state == "REFUND" and row.get("退款状态", "") in ("SUCCESS", ""):
        return BillLine(
            kind="refund",
            reference=row["商户退款单号"],
            gateway_reference=row["微信退款单号"],
            amount=_money(row, "申请退款金额", "退款金额"),
            at=at,
        )
    return None  # REVOKED (撤销) and refunds that did not succeed move no money


def parse_trade_bill(text: str) -> list[BillLine]:
    """Read WeChat's trade bill (交易账单, bill_type=ALL) into payment and refund lines.

    The first line names the columns; every data field starts with a backtick
    (so a comma inside a product name does not split it: fields are split on
    ",`"); the bill ends with a summary header (总交易单数,...) and its values,
    which are not lines of the bill.
    """
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines() if line.strip()]
    if not lines:
        return []
    header = [name.strip().lstrip("`") for name in lines[0].split(",")]
    result = []
    for line in lines[1:]:
        if line.startswith("总交易单数"):
            break
        cells = [cell.strip() for cell in line.lstrip("`").split(",`")]
        if len(cells) < len(header):
            raise GatewayError(f"malformed bill line: {line[:80]}")
        try:
            bill_line = _bill_line(dict(zip(header, cells, strict=False)))
        except (KeyError, ValueError, InvalidOperation) as exc:
            raise GatewayError(f"malformed bill line: {line[:80]} ({exc!r})") from exc
        if bill_line is not None:
            result.append(bill_line)
    return result


class WechatPayGateway(Gateway):
    code = "wechat"
    channels = (WECHAT_NATIVE, WECHAT_H5, WECHAT_JSAPI)

    # --- the client ------------------------------------------------------------

    def config(self) -> Config:
        return Config.from_settings()

    def client(self) -> _WeChatPay:
        """The SDK client for the current settings, one per process (certificate
        mode downloads the platform certificates when it is built)."""
        try:
            return _client_for(self.config())
        except GatewayError:
            raise
        except Exception as exc:  # the SDK raises bare Exception for keys and certificates
            raise GatewayError(f"WeChat Pay client: {exc}") from exc

    def _call(self, what: str, method, *args, **kwargs) -> tuple[int, dict]:
        """One SDK call; any failure to reach WeChat or to verify its answer is a
        GatewayError (the SDK raises requests' errors and bare Exceptions)."""
        try:
            status, body = method(*args, **kwargs)
        except Exception as exc:
            raise GatewayError(f"WeChat Pay {what}: {exc}") from exc
        return status, _json(body)

    # --- paying ----------------------------------------------------------------

    def channels_for(self, request) -> tuple[str, ...]:
        """JSAPI inside WeChat (it needs WeChat's bridge); H5 on a phone's browser, with
        the QR code to scan from another phone; on a computer only the QR code
        (WeChat Pay refuses H5 outside a phone)."""
        if in_wechat(request):
            return (WECHAT_JSAPI,)
        return (WECHAT_H5, WECHAT_NATIVE) if is_phone(request) else (WECHAT_NATIVE,)

    def start(self, payment, *, request, notify_url: str, return_url: str, openid="") -> Checkout:
        """Place the trade at WeChat (下单) and say how the shopper pays it.

        The trade expires when the order is cancelled unpaid, so WeChat stops
        taking money for an order we would have to refund. Asked again with the
        same out_trade_no and the same fields, WeChat answers with the same
        code_url / prepay_id; a paid, closed or different trade under that number
        is refused (GatewayError with WeChat's code).
        """
        channel = payment.channel
        fields = {
            "description": f"订单 {payment.order.number}",
            "out_trade_no": payment.reference,
            "amount": {"total": fen(payment.amount), "currency": "CNY"},
            "time_expire": unpaid_deadline(payment).isoformat(timespec="seconds"),
            "notify_url": notify_url,
        }
        client = self.client()
        if channel == WECHAT_NATIVE:
            data = self._pay(client, WeChatPayType.NATIVE, fields)
            return Checkout(qr_code=self._field(data, "code_url"))
        if channel == WECHAT_H5:
            fields["scene_info"] = {
                "payer_client_ip": client_ip(request),
                "h5_info": {"type": "Wap"},
            }
            data = self._pay(client, WeChatPayType.H5, fields)
            # WeChat sends the shopper back to redirect_url, appended URL-encoded.
            redirect = self._field(data, "h5_url")
            if return_url:
                redirect += "&redirect_url=" + urllib.parse.quote(return_url, safe="")
            return Checkout(redirect_url=redirect)
        if channel == WECHAT_JSAPI:
            if not openid:
                raise GatewayError(
                    "WeChat Pay JSAPI needs the payer's openid (sign the shopper in with WeChat)"
                )
            fields["payer"] = {"openid": openid}
            data = self._pay(client, WeChatPayType.JSAPI, fields)
            prepay_id = self._field(data, "prepay_id")
            return Checkout(jsapi=self.jsapi_parameters(prepay_id, client=client))
        raise GatewayError(f"WeChat Pay has no way to pay called {channel!r}")

    def _pay(self, client, pay_type, fields: dict) -> dict:
        status, data = self._call("order", client.pay, pay_type=pay_type, **fields)
        if status != 200:
            raise GatewayError(f"WeChat Pay refused the order: {_why(status, data)}")
        return data

    @staticmethod
    def _field(data: dict, name: str) -> str:
        if not data.get(name):
            raise GatewayError(f"WeChat Pay answered without {name}: {data}")
        return data[name]

    def jsapi_parameters(self, prepay_id: str, *, client=None) -> dict:
        """WeixinJSBridge getBrandWCPayRequest's parameters (JSAPI调起支付): paySign is
        RSA-SHA256 with the merchant key over "appId\\ntimeStamp\\nnonceStr\\npackage\\n"."""
        client = client or self.client()
        params = {
            "appId": client._appid,
            "timeStamp": str(int(time.time())),
            "nonceStr": uuid.uuid4().hex.upper(),
            "package": f"prepay_id={prepay_id}",
            "signType": "RSA",
        }
        values = [params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]
        params["paySign"] = client.sign(values)
        return params

    def query(self, payment) -> TradeStatus:
        client = self.client()
        status, data = self._call("query", client.query, out_trade_no=payment.reference)
        if status == 404 and data.get("code") == "ORDER_NOT_EXIST":
            # Never placed (the shopper did not reach the cashier): nothing to pay yet.
            return TradeStatus(reference=payment.reference, state=PENDING, payload=data)
        if status != 200:
            raise GatewayError(f"WeChat Pay query: {_why(status, data)}")
        state = TRADE_STATES.get(data.get("trade_state", ""))
        if state is None:
            raise GatewayError(f"WeChat Pay query: unknown trade_state in {data}")
        total = (data.get("amount") or {}).get("total")
        return TradeStatus(
            reference=payment.reference,
            state=state,
            trade_no=data.get("transaction_id", ""),
            amount=yuan(total) if total is not None else None,
            payload=data,
        )

    def close(self, payment) -> None:
        """Close the trade so it can no longer be paid (关闭订单); closing a trade that
        is already closed or was never placed is fine, one that is paid is not."""
        client = self.client()
        status, data = self._call("close", client.close, out_trade_no=payment.reference)
        if status in (200, 204):
            return
        if data.get("code") in ("ORDER_CLOSED", "ORDER_NOT_EXIST"):
            return
        raise GatewayError(f"WeChat Pay close: {_why(status, data)}")

    # --- notifications ---------------------------------------------------------

    def _verified_event(self, request, event_types: tuple[str, ...]) -> tuple[dict, dict]:
        """The notification's envelope and decrypted resource, once its signature
        (by WeChat Pay's key), its clock and its event type check out."""
        headers = _request_headers(request)
        missing = [name for name, value in headers.items() if not value]
        if missing:
            raise InvalidNotification(f"missing headers: {', '.join(missing)}")
        try:
            skew = abs(time.time() - int(headers["Wechatpay-Timestamp"]))
        except ValueError:
            raise InvalidNotification("malformed Wechatpay-Timestamp") from None
        if skew > MAX_CLOCK_SKEW:
            raise InvalidNotification(f"Wechatpay-Timestamp {skew:.0f}s off our clock")
        try:
            client = self.client()
        except GatewayError as exc:
            raise InvalidNotification(f"cannot verify: {exc}") from exc
        self._check_serial(client, headers["Wechatpay-Serial"])
        body = request.body.decode("utf-8", errors="replace")
        try:
            envelope = client.callback(headers, body)
        except Exception as exc:  # a malformed serial, body or algorithm
            raise InvalidNotification(f"cannot verify: {exc}") from exc
        if not envelope:
            raise InvalidNotification("bad signature, or a resource the APIv3 key cannot decrypt")
        if envelope.get("event_type") not in event_types:
            raise InvalidNotification(f"unexpected event_type {envelope.get('event_type')!r}")
        resource = envelope.get("resource")
        if not isinstance(resource, dict):
            raise InvalidNotification("resource is not an object")
        return envelope, resource

    def _check_serial(self, client, serial: str) -> None:
        """Refuse a key we do not know before the SDK sees it: the SDK answers an
        unknown serial by downloading the platform certificates (clearing the
        ones it has first), which anyone could otherwise set off from our public
        notify URL. New certificates (WeChat rotates them) are fetched at most
        once per CERTIFICATE_REFRESH."""
        config = self.config()
        if config.public_key_mode:
            if serial != config.public_key_id:
                raise InvalidNotification(f"unknown Wechatpay-Serial {serial!r}")
            return
        try:
            number = int(serial, 16)
        except ValueError:
            raise InvalidNotification(f"malformed Wechatpay-Serial {serial!r}") from None
        if any(cert.serial_number == number for cert in client._core._certificates):
            return
        now = time.monotonic()
        if now - _certificates_fetched.get(config, -CERTIFICATE_REFRESH) < CERTIFICATE_REFRESH:
            raise InvalidNotification(f"unknown Wechatpay-Serial {serial!r}")
        _certificates_fetched[config] = now  # the SDK's callback fetches them now

    def _check_merchant(self, resource: dict, *, key: str = "mchid", appid: bool = True):
        config = self.config()
        if resource.get(key) != config.mchid:
            raise InvalidNotification(f"{key} {resource.get(key)!r} is not ours")
        if appid and resource.get("appid") != config.appid:
            raise InvalidNotification(f"appid {resource.get('appid')!r} is not ours")

    def parse_notification(self, request) -> Notification:
        """A TRANSACTION.SUCCESS notification (支付成功通知). payload is the decrypted
        transaction plus the envelope's event_type and notification_id."""
        envelope, resource = self._verified_event(request, ("TRANSACTION.SUCCESS",))
        self._check_merchant(resource)
        try:
            return Notification(
                reference=resource["out_trade_no"],
                trade_no=resource["transaction_id"],
                amount=yuan(resource["amount"]["total"]),
                succeeded=resource.get("trade_state") == "SUCCESS",
                payload=_event_payload(envelope, resource),
                notification_id=envelope.get("id", ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidNotification(f"missing or malformed field: {exc}") from exc

    def acknowledge(self) -> HttpResponse:
        """v3: HTTP 200 or 204 without a body means received."""
        return HttpResponse(status=200)

    def reject(self) -> HttpResponse:
        """v3: a 4xx/5xx with {"code": "FAIL", "message": ...}; WeChat delivers again."""
        return JsonResponse(
            {"code": "FAIL", "message": "失败"},
            status=400,
            json_dumps_params={"ensure_ascii": False},
        )

    # --- refunds ---------------------------------------------------------------

    def refund(
        self, payment, amount: Decimal, reason: str, *, request_no: str, notify_url: str = ""
    ) -> RefundResult:
        """申请退款. WeChat usually answers PROCESSING: the money arrives later and the
        refund notification (or query_refund) settles it."""
        client = self.client()
        status, data = self._call(
            "refund",
            client.refund,
            out_refund_no=request_no,
            out_trade_no=payment.reference,
            amount={"refund": fen(amount), "total": fen(payment.amount), "currency": "CNY"},
            reason=(reason or "")[:80] or None,
            notify_url=notify_url or None,
        )
        if status == 200:
            return self._refund_result(data, data.get("status", ""))
        if _is_transient(status, data):
            raise GatewayError(
                f"WeChat Pay refund {request_no}, outcome unknown ({_why(status, data)}): "
                "ask again with the same number"
            )
        raise RefundFailed(_why(status, data))

    def _refund_result(self, data: dict, refund_status: str) -> RefundResult:
        state = REFUND_STATES.get(refund_status)
        if state is None:
            raise GatewayError(f"WeChat Pay refund: unknown status in {data}")
        refunded = (data.get("amount") or {}).get("refund")
        return RefundResult(
            request_no=data.get("out_refund_no", ""),
            state=state,
            gateway_reference=data.get("refund_id", ""),
            amount=yuan(refunded) if refunded is not None else None,
            reason=str(REFUND_FAILURES.get(refund_status, "")),
            payload=data,
        )

    def query_refund(self, refund) -> RefundResult:
        client = self.client()
        status, data = self._call("refund query", client.query_refund, refund.request_no)
        if status == 404 and data.get("code") == "RESOURCE_NOT_EXISTS":
            return RefundResult(
                request_no=refund.request_no,
                state=CLOSED,
                reason="WeChat Pay has no refund by this number",
                payload=data,
            )
        if status != 200:
            raise GatewayError(f"WeChat Pay refund query: {_why(status, data)}")
        return self._refund_result(data, data.get("status", ""))

    def parse_refund_notification(self, request) -> RefundResult:
        """REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED (退款结果通知)."""
        envelope, resource = self._verified_event(
            request, ("REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED")
        )
        self._check_merchant(resource, appid=False)
        if not resource.get("out_refund_no"):
            raise InvalidNotification("missing out_refund_no")
        try:
            result = self._refund_result(resource, resource.get("refund_status", ""))
        except (GatewayError, TypeError, ValueError) as exc:
            raise InvalidNotification(str(exc)) from exc
        return dataclasses.replace(result, payload=_event_payload(envelope, resource))

    # --- transfers (商家转账) ----------------------------------------------------

    def transfer(self, transfer: TransferRequest) -> TransferResult:
        """发起转账. The payee accepts it in WeChat (WAIT_USER_CONFIRM, with the
        package_info their WeChat needs). A refusal is CLOSED only once a query
        shows WeChat holds no bill under this number, so a bill that exists is
        never given up while it could still pay."""
        config = self.config()
        scene = settings.WECHATPAY_TRANSFER_SCENE_ID
        params = {
            "appid": config.appid,
            "out_bill_no": transfer.bill_no,
            "transfer_scene_id": scene,
            "openid": transfer.account,
            "transfer_amount": fen(transfer.amount),
            "transfer_remark": transfer.remark[:32] or "佣金提现",
        }
        if SCENE_REPORT_INFOS.get(scene):
            params["transfer_scene_report_infos"] = SCENE_REPORT_INFOS[scene]
        if transfer.notify_url:
            params["notify_url"] = transfer.notify_url
        user_name = transfer.name if transfer.amount >= NAME_REQUIRED_FROM else ""
        client = self.client()
        status, data = self._call("transfer", client.transfer_bill, params, user_name)
        if status == 200:
            return self._transfer_result(transfer.bill_no, data)
        if _is_transient(status, data):
            raise GatewayError(
                f"WeChat Pay transfer {transfer.bill_no}, outcome unknown "
                f"({_why(status, data)}): ask again with the same number"
            )
        # Refused: a bill WeChat already holds under this number is the answer, if it is
        # this transfer (a repeat with other fields, 商户单号重复, must not take its state).
        existing = self.query_transfer(transfer.bill_no)
        if existing.gateway_reference:
            same = existing.payload.get("transfer_amount") == fen(transfer.amount) and (
                existing.payload.get("openid") == transfer.account
            )
            if not same:
                raise GatewayError(
                    f"WeChat Pay holds another transfer under {transfer.bill_no}: "
                    f"{_why(status, data)}"
                )
            return existing
        return TransferResult(
            bill_no=transfer.bill_no, state=CLOSED, reason=_why(status, data), payload=data
        )

    def _transfer_result(self, bill_no: str, data: dict) -> TransferResult:
        state = TRANSFER_STATES.get(data.get("state", ""))
        if state is None:
            raise GatewayError(f"WeChat Pay transfer: unknown state in {data}")
        return TransferResult(
            bill_no=data.get("out_bill_no") or bill_no,
            state=state,
            gateway_reference=data.get("transfer_bill_no", ""),
            reason=data.get("fail_reason", "") if state == CLOSED else "",
            confirmation=data.get("package_info", "") if state == WAITING_CONFIRMATION else "",
            payload=data,
        )

    def query_transfer(self, bill_no: str) -> TransferResult:
        """商户单号查询转账单. WeChat keeps bills queryable for 30 days; an open
        transfer older than that cannot exist (the payee has 24 hours to accept)."""
        client = self.client()
        status, data = self._call(
            "transfer query", client.mch_transfer_bills_query, out_bill_no=bill_no
        )
        if status == 404 and data.get("code") == "NOT_FOUND":
            return TransferResult(
                bill_no=bill_no,
                state=CLOSED,
                reason="WeChat Pay has no transfer by this number",
                payload=data,
            )
        if status != 200:
            raise GatewayError(f"WeChat Pay transfer query: {_why(status, data)}")
        return self._transfer_result(bill_no, data)

    def parse_transfer_notification(self, request) -> TransferResult:
        """MCHTRANSFER.BILL.FINISHED (商家转账回调通知): the bill reached SUCCESS,
        FAIL or CANCELLED. Its resource names the merchant as mch_id."""
        envelope, resource = self._verified_event(request, ("MCHTRANSFER.BILL.FINISHED",))
        self._check_merchant(resource, key="mch_id", appid=False)
        if not resource.get("out_bill_no"):
            raise InvalidNotification("missing out_bill_no")
        try:
            result = self._transfer_result(resource["out_bill_no"], resource)
        except GatewayError as exc:
            raise InvalidNotification(str(exc)) from exc
        return dataclasses.replace(result, payload=_event_payload(envelope, resource))

    # --- the bill (对账单) --------------------------------------------------------

    def bill(self, day: date) -> list[BillLine]:
        """申请交易账单 then download it (a signed GET; the file itself is not signed,
        so its SHA1 from the signed first answer is checked)."""
        client = self.client()
        status, data = self._call(
            "bill",
            client.trade_bill,
            bill_date=day.isoformat(),
            bill_type="ALL",
            tar_type="GZIP",
        )
        if status == 400 and data.get("code") == "NO_STATEMENT_EXIST":
            return []  # no trade that day
        if status != 200:
            raise GatewayError(f"WeChat Pay bill of {day}: {_why(status, data)}")
        if (data.get("hash_type") or "SHA1").upper() != "SHA1" or not data.get("download_url"):
            raise GatewayError(f"WeChat Pay bill of {day}: unexpected answer {data}")
        try:
            status, content = client.download_bill(data["download_url"])
        except Exception as exc:
            raise GatewayError(f"WeChat Pay bill download: {exc}") from exc
        if status != 200:
            raise GatewayError(f"WeChat Pay bill download: {_why(status, _json(content))}")
        if isinstance(content, str):
            content = content.encode()
        if content[:2] == b"\x1f\x8b":
            content = gzip.decompress(content)
        if hashlib.sha1(content).hexdigest().lower() != str(data.get("hash_value", "")).lower():  # noqa: S324 - WeChat's integrity check
            raise GatewayError(f"WeChat Pay bill of {day}: the file does not match its SHA1")
        return parse_trade_bill(content.decode("utf-8"))
