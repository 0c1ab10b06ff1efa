"""A fake WeChat Pay API v3 (微信支付) on loopback, for our real client to talk to.

It implements the documented v3 wire format rather than our client's habits:

- every /v3 request must carry `Authorization: WECHATPAY2-SHA256-RSA2048
  mchid="..",nonce_str="..",signature="..",timestamp="..",serial_no=".."`, the
  signature being RSA-SHA256 (PKCS#1 v1.5) with the merchant key over
  "METHOD\\nURL-path?query\\ntimestamp\\nnonce\\nbody\\n"; otherwise 401 SIGN_ERROR;
- every answer (the bill file excepted, as documented) is signed with WeChat
  Pay's key over "timestamp\\nnonce\\nbody\\n" in the Wechatpay-Timestamp /
  -Nonce / -Signature / -Serial headers; the serial is the public key id
  (PUB_KEY_ID_...) in public-key mode, the platform certificate's serial in
  certificate mode (GET /v3/certificates serves that self-signed certificate,
  AEAD_AES_256_GCM-encrypted with the APIv3 key, associated_data "certificate");
- notifications are signed the same way and their resource encrypted with the
  APIv3 key (associated_data "transaction", "refund" or "mch_payment");
- errors are an HTTP status with {"code": ..., "message": ...}.

Besides the merchant's API it plays the shopper's side (pay(), the /fake/...
pages and WeixinJSBridge script) so browser tests can pay as a phone would.
"""

import base64
import gzip
import hashlib
import html
import json
import re
import secrets
import string
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from .server import FakeServer, Request, Response

SHANGHAI = ZoneInfo("Asia/Shanghai")
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
DEFAULT_PUBLIC_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000"
BILL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,"
    "费率备注"
)
BILL_SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
TRADE_TYPES = {"native": "NATIVE", "h5": "MWEB", "jsapi": "JSAPI"}


# --- keys, signatures, encryption (what both sides of the protocol compute) -------


def generate_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key) -> str:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_private(key) -> rsa.RSAPrivateKey:
    if isinstance(key, rsa.RSAPrivateKey):
        return key
    return serialization.load_pem_private_key(key.encode(), password=None)


def load_public(key):
    if isinstance(key, str):
        return serialization.load_pem_public_key(key.encode())
    return key


def new_serial_no() -> str:
    """A certificate serial as WeChat writes it: 40 upper-case hex digits (under 2**159,
    as RFC 5280 allows)."""
    return f"{secrets.randbits(158) | (1 << 158):040X}"


def self_signed_certificate(key: rsa.RSAPrivateKey, serial_no: str) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fake Tenpay"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Fake WeChat Pay platform certificate"),
        ]
    )
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int(serial_no, 16))
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=5 * 365))
        .sign(key, hashes.SHA256())
    )


def rsa_sign(key, message: str) -> str:
    signature = load_private(key).sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def rsa_verify(public_key, message: str, signature: str) -> bool:
    try:
        load_public(public_key).verify(
            base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def request_message(method: str, url: str, timestamp: str, nonce: str, body: str) -> str:
    """The string a merchant signs for a request (签名串, five lines)."""
    return f"{method}\n{url}\n{timestamp}\n{nonce}\n{body}\n"


def response_message(timestamp: str, nonce: str, body: str) -> str:
    """The string WeChat Pay signs for an answer or notification (验签串, three lines)."""
    return f"{timestamp}\n{nonce}\n{body}\n"


def jsapi_message(app_id: str, timestamp: str, nonce: str, package: str) -> str:
    """The string paySign covers (JSAPI调起支付, four lines)."""
    return f"{app_id}\n{timestamp}\n{nonce}\n{package}\n"


def aead_encrypt(key: str, plaintext: str, *, nonce: str, associated_data: str) -> str:
    """AEAD_AES_256_GCM as WeChat uses it: the APIv3 key's bytes as the key, the
    12-character nonce's bytes as IV, base64(ciphertext || 16-byte tag)."""
    sealed = AESGCM(key.encode()).encrypt(
        nonce.encode(), plaintext.encode(), associated_data.encode()
    )
    return base64.b64encode(sealed).decode()


def oaep_decrypt(key, ciphertext: str) -> str:
    """A sensitive field (user_name) encrypted with WeChat Pay's public key."""
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
    return load_private(key).decrypt(base64.b64decode(ciphertext), oaep).decode()


def django_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers as Django's test client and RequestFactory take them
    (Wechatpay-Nonce -> HTTP_WECHATPAY_NONCE; Content-Type is their own argument)."""
    return {
        "HTTP_" + name.upper().replace("-", "_"): value
        for name, value in headers.items()
        if name.lower() != "content-type"
    }


def random_nonce(length: int = 32) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def rfc3339(moment: datetime | None = None) -> str:
    return (moment or datetime.now(SHANGHAI)).astimezone(SHANGHAI).isoformat(timespec="seconds")


def yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def _digits(count: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(count))


class FakeWechatPay(FakeServer):
    """WeChat Pay API v3 for one merchant (mchid + appid).

    Knobs for tests: `refund_status` (what a new refund answers: PROCESSING, the
    default, or SUCCESS), `transfer_initial_state`, `fail_next()` (refuse the next
    matching request before doing anything), `lose_next_answer()` (do it, then
    answer 500 SYSTEM_ERROR: the outcome the client cannot know),
    `response_signing_key` (sign answers with another key), `bill_overrides`.
    """

    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        merchant_public_key: str,
        merchant_serial_no: str,
        platform_private_key: str,
        apiv3_key: str,
        public_key_id: str = DEFAULT_PUBLIC_KEY_ID,
        mode: str = "public_key",
    ):
        super().__init__()
        if len(apiv3_key.encode()) != 32:
            raise ValueError("the APIv3 key is 32 bytes")
        if mode not in ("public_key", "certificate"):
            raise ValueError(mode)
        self.mchid = mchid
        self.appid = appid
        self.merchant_public_key = load_public(merchant_public_key)
        self.merchant_serial_no = merchant_serial_no
        self.platform_private_key = load_private(platform_private_key)
        self.apiv3_key = apiv3_key
        self.public_key_id = public_key_id
        self.mode = mode
        self.certificate_serial_no = new_serial_no()
        self.certificate = self_signed_certificate(
            self.platform_private_key, self.certificate_serial_no
        )
        self.response_signing_key = None  # None: the platform key
        self.refund_status = "PROCESSING"
        self.transfer_initial_state = "WAIT_USER_CONFIRM"
        self.delivery_delays = (0, 0.1, 0.3, 1.0, 2.0)  # bounded retries of a notification
        self.trades: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.bills: dict[str, dict] = {}
        self.deliveries: list[dict] = []
        self.bill_overrides: dict[date, str] = {}
        self.bill_hash_override: str | None = None
        self._bill_files: dict[str, tuple[bytes, bool]] = {}
        self._injected: list[dict] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.RLock()

    @property
    def serial_no(self) -> str:
        """What Wechatpay-Serial names: the key answers and notifications are signed with."""
        return self.public_key_id if self.mode == "public_key" else self.certificate_serial_no

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    # --- test controls ---------------------------------------------------------

    def fail_next(self, method: str, path: str, *, status: int, code: str, message: str = ""):
        """Refuse the next `method` request whose path starts with `path`; nothing is done."""
        self._injected.append(
            {
                "method": method,
                "path": path,
                "kind": "refuse",
                "status": status,
                "code": code,
                "message": message or code,
            }
        )

    def lose_next_answer(self, method: str, path: str, *, status: int = 500):
        """Carry out the next matching request, then answer 5xx SYSTEM_ERROR, as a
        gateway timeout would: it happened, the client cannot know."""
        self._injected.append(
            {
                "method": method,
                "path": path,
                "kind": "lose",
                "status": status,
                "code": "SYSTEM_ERROR",
                "message": "系统错误",
            }
        )

    def calls(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.path.startswith(path))

    def wait_for_deliveries(self, timeout: float = 10) -> list[dict]:
        for thread in list(self._threads):
            thread.join(timeout)
        return self.deliveries

    # --- the server ------------------------------------------------------------

    ROUTES = (
        ("POST", re.compile(r"/v3/pay/transactions/(native|h5|jsapi)"), "_place_trade"),
        ("GET", re.compile(r"/v3/pay/transactions/out-trade-no/([^/]+)"), "_query_trade"),
        ("POST", re.compile(r"/v3/pay/transactions/out-trade-no/([^/]+)/close"), "_close_trade"),
        ("POST", re.compile(r"/v3/refund/domestic/refunds"), "_create_refund"),
        ("GET", re.compile(r"/v3/refund/domestic/refunds/([^/]+)"), "_query_refund"),
        ("POST", re.compile(r"/v3/fund-app/mch-transfer/transfer-bills"), "_create_transfer"),
        (
            "GET",
            re.compile(r"/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/([^/]+)"),
            "_query_transfer",
        ),
        ("GET", re.compile(r"/v3/bill/tradebill"), "_trade_bill"),
        ("GET", re.compile(r"/v3/certificates"), "_certificates"),
    )

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/fake/"):
            return self._payer_side(request)
        refused = self._check_authorization(request)
        if refused is not None:
            return self._signed(refused)
        if request.path == "/v3/billdownload/file":
            return self._download_bill(request)  # not signed, as documented
        for method, pattern, name in self.ROUTES:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                injected = self._take_injected(request)
                if injected and injected["kind"] == "refuse":
                    return self._signed(
                        self._error(injected["status"], injected["code"], injected["message"])
                    )
                response = getattr(self, name)(request, *match.groups())
                if injected:  # "lose": done, but the answer is an error
                    return self._signed(
                        self._error(injected["status"], injected["code"], injected["message"])
                    )
                # The certificate list is signed with the certificate it lists.
                serial = self.certificate_serial_no if name == "_certificates" else None
                return self._signed(response, serial=serial)
        return self._signed(self._error(404, "NOT_FOUND", f"no route {request.path}"))

    def _take_injected(self, request: Request) -> dict | None:
        with self._lock:
            for injected in self._injected:
                if injected["method"] == request.method and request.path.startswith(
                    injected["path"]
                ):
                    self._injected.remove(injected)
                    return injected
        return None

    def _check_authorization(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, rest = header.partition(" ")
        if scheme != SIGNATURE_TYPE:
            return self._error(401, "SIGN_ERROR", "Authorization 认证类型错误")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if fields.get("mchid") != self.mchid:
            return self._error(401, "SIGN_ERROR", "商户号错误")
        if fields.get("serial_no") != self.merchant_serial_no:
            return self._error(401, "SIGN_ERROR", "商户证书序列号错误")
        try:
            skew = abs(time.time() - int(fields.get("timestamp", "")))
        except ValueError:
            return self._error(401, "SIGN_ERROR", "时间戳错误")
        if skew > 300:
            return self._error(401, "SIGN_ERROR", "请求时间戳已过期")
        url = request.path + (f"?{request.raw_query}" if request.raw_query else "")
        message = request_message(
            request.method,
            url,
            fields["timestamp"],
            fields.get("nonce_str", ""),
            request.body.decode("utf-8", errors="replace"),
        )
        if not rsa_verify(self.merchant_public_key, message, fields.get("signature", "")):
            return self._error(401, "SIGN_ERROR", "签名错误")
        return None

    def sign_headers(
        self, body: str, *, key=None, timestamp: str | None = None, serial: str | None = None
    ) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        nonce = random_nonce()
        key = key or self.response_signing_key or self.platform_private_key
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": rsa_sign(key, response_message(timestamp, nonce, body)),
            "Wechatpay-Serial": serial or self.serial_no,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }

    def _signed(self, response: Response, serial: str | None = None) -> Response:
        response.headers.update(
            self.sign_headers(response.body.decode("utf-8"), serial=serial),
        )
        response.headers["Request-ID"] = uuid.uuid4().hex
        return response

    @staticmethod
    def _json(data, status: int = 200) -> Response:
        body = json.dumps(data, ensure_ascii=False).encode()
        return Response(body, status, {"Content-Type": "application/json; charset=utf-8"})

    def _error(self, status: int, code: str, message: str) -> Response:
        return self._json({"code": code, "message": message}, status)

    @staticmethod
    def _body(request: Request) -> dict:
        try:
            data = request.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    # --- trades ----------------------------------------------------------------

    def _place_trade(self, request: Request, kind: str) -> Response:
        body = self._body(request)
        if body.get("appid") != self.appid or body.get("mchid") != self.mchid:
            return self._error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        amount = body.get("amount") or {}
        for name, value in (
            ("description", body.get("description")),
            ("out_trade_no", body.get("out_trade_no")),
            ("notify_url", body.get("notify_url")),
            ("amount/total", amount.get("total")),
        ):
            if not value:
                return self._param_error(name)
        if not isinstance(amount["total"], int) or amount["total"] <= 0:
            return self._param_error("amount/total")
        if kind == "jsapi" and not (body.get("payer") or {}).get("openid"):
            return self._param_error("payer/openid")
        if kind == "h5":
            scene = body.get("scene_info") or {}
            if not scene.get("payer_client_ip") or not (scene.get("h5_info") or {}).get("type"):
                return self._param_error("scene_info")
        if body.get("time_expire"):
            try:
                datetime.fromisoformat(body["time_expire"])
            except ValueError:
                return self._param_error("time_expire")
        number = body["out_trade_no"]
        with self._lock:
            trade = self.trades.get(number)
            if trade is not None:
                if trade["state"] in ("SUCCESS", "REFUND"):
                    return self._error(400, "ORDERPAID", "该订单已支付")
                if trade["state"] == "CLOSED":
                    return self._error(400, "ORDER_CLOSED", "订单已关闭")
                if trade["request"] != body or trade["kind"] != kind:
                    return self._error(403, "OUT_TRADE_NO_USED", "商户订单号重复")
                return self._json(self._prepay_answer(trade))
            prepay_id = "wx" + datetime.now(SHANGHAI).strftime("%d%H%M%S") + secrets.token_hex(12)
            trade = {
                "kind": kind,
                "trade_type": TRADE_TYPES[kind],
                "request": body,
                "out_trade_no": number,
                "description": body["description"],
                "notify_url": body["notify_url"],
                "total": amount["total"],
                "openid": (body.get("payer") or {}).get("openid", ""),
                "state": "NOTPAY",
                "transaction_id": "",
                "success_time": None,
                "prepay_id": prepay_id,
                "code_url": "weixin://wxpay/bizpayurl?pr=" + random_nonce(9),
                "h5_url": f"{self.url}/fake/h5?prepay_id={prepay_id}&package={_digits(10)}",
                "created": datetime.now(SHANGHAI),
            }
            self.trades[number] = trade
        return self._json(self._prepay_answer(trade))

    @staticmethod
    def _prepay_answer(trade: dict) -> dict:
        if trade["kind"] == "native":
            return {"code_url": trade["code_url"]}
        if trade["kind"] == "h5":
            return {"h5_url": trade["h5_url"]}
        return {"prepay_id": trade["prepay_id"]}

    def _param_error(self, field: str) -> Response:
        return self._error(
            400, "PARAM_ERROR", f"输入源“/body/{field}”映射到值字段“{field}”规则校验失败"
        )

    def transaction(self, trade: dict) -> dict:
        """The trade as the query answers it and the notification's resource holds it."""
        data = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": trade["out_trade_no"],
            "trade_state": trade["state"],
            "trade_state_desc": {
                "NOTPAY": "订单未支付",
                "SUCCESS": "支付成功",
                "REFUND": "转入退款",
                "CLOSED": "订单已关闭",
            }.get(trade["state"], trade["state"]),
            "amount": {"total": trade["total"], "currency": "CNY", "payer_currency": "CNY"},
        }
        if trade["transaction_id"]:
            data.update(
                {
                    "transaction_id": trade["transaction_id"],
                    "trade_type": trade["trade_type"],
                    "bank_type": "OTHERS",
                    "attach": "",
                    "success_time": rfc3339(trade["success_time"]),
                    "payer": {"openid": trade["openid"]},
                }
            )
            data["amount"]["payer_total"] = trade["total"]
        return data

    def _query_trade(self, request: Request, number: str) -> Response:
        if request.query.get("mchid") != self.mchid:
            return self._error(400, "PARAM_ERROR", "mchid 与请求商户号不一致")
        trade = self.trades.get(number)
        if trade is None:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        return self._json(self.transaction(trade))

    def _close_trade(self, request: Request, number: str) -> Response:
        if self._body(request).get("mchid") != self.mchid:
            return self._param_error("mchid")
        with self._lock:
            trade = self.trades.get(number)
            if trade is None:
                return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
            if trade["state"] in ("SUCCESS", "REFUND"):
                return self._error(400, "ORDERPAID", "订单已支付")
            trade["state"] = "CLOSED"
        return Response(b"", 204)

    # --- the shopper's side ----------------------------------------------------

    def pay(self, out_trade_no: str, *, openid: str = "", deliver: bool = True):
        """The shopper pays (扫码 / H5 / JSAPI): the trade becomes SUCCESS and the signed,
        encrypted TRANSACTION.SUCCESS notification goes to its notify_url in the
        background, again until answered 200/204 (bounded). Returns (headers, body)."""
        with self._lock:
            trade = self.trades[out_trade_no]
            if trade["state"] == "CLOSED":
                raise ValueError(f"trade {out_trade_no} is closed")
            if trade["state"] == "NOTPAY":
                trade["state"] = "SUCCESS"
                trade["transaction_id"] = "42000" + _digits(23)
                trade["success_time"] = datetime.now(SHANGHAI)
                trade["openid"] = trade["openid"] or openid or "oFake" + random_nonce(23)
        headers, body = self.notification(out_trade_no)
        if deliver:
            self.deliver(trade["notify_url"], headers, body)
        return headers, body

    def notification(
        self,
        out_trade_no: str,
        *,
        amount: int | None = None,
        mchid: str | None = None,
        appid: str | None = None,
        trade_state: str | None = None,
        event_type: str = "TRANSACTION.SUCCESS",
        transaction_id: str | None = None,
        **envelope,
    ) -> tuple[dict, str]:
        """The payment notification WeChat would send for `out_trade_no` (which need not
        exist here when `amount` is given), with fields overridden for tests. Keyword
        arguments of event() alter the envelope: timestamp=, signing_key=,
        apiv3_key=, serial=, notification_id=."""
        trade = self.trades.get(out_trade_no)
        if trade is not None:
            resource = self.transaction(trade)
        else:
            resource = {
                "appid": self.appid,
                "mchid": self.mchid,
                "out_trade_no": out_trade_no,
                "trade_state": "SUCCESS",
                "amount": {"total": amount, "currency": "CNY", "payer_currency": "CNY"},
            }
        resource.setdefault("transaction_id", "42000" + _digits(23))
        resource.setdefault("trade_type", "NATIVE")
        resource.setdefault("success_time", rfc3339())
        resource.setdefault("payer", {"openid": "oFake" + random_nonce(23)})
        resource["trade_state"] = trade_state or "SUCCESS"
        resource["trade_state_desc"] = "支付成功"
        if amount is not None:
            resource["amount"] = {**resource["amount"], "total": amount, "payer_total": amount}
        resource["amount"].setdefault("payer_total", resource["amount"]["total"])
        if mchid is not None:
            resource["mchid"] = mchid
        if appid is not None:
            resource["appid"] = appid
        if transaction_id is not None:
            resource["transaction_id"] = transaction_id
        return self.event(
            event_type,
            "支付成功",
            "transaction",
            resource,
            associated_data="transaction",
            **envelope,
        )

    def event(
        self,
        event_type: str,
        summary: str,
        original_type: str,
        resource: dict,
        *,
        associated_data: str,
        timestamp: str | None = None,
        signing_key=None,
        apiv3_key: str | None = None,
        serial: str | None = None,
        notification_id: str | None = None,
    ) -> tuple[dict, str]:
        """A signed notification with `resource` encrypted: (headers, body)."""
        nonce = random_nonce(12)
        body = json.dumps(
            {
                "id": notification_id or str(uuid.uuid4()),
                "create_time": rfc3339(),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": summary,
                "resource": {
                    "original_type": original_type,
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": aead_encrypt(
                        apiv3_key or self.apiv3_key,
                        json.dumps(resource, ensure_ascii=False),
                        nonce=nonce,
                        associated_data=associated_data,
                    ),
                    "associated_data": associated_data,
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
        )
        headers = self.sign_headers(body, key=signing_key, timestamp=timestamp, serial=serial)
        headers["Content-Type"] = "application/json"
        return headers, body

    def deliver(self, url: str, headers: dict, body: str) -> threading.Thread | None:
        """POST a notification to `url` as WeChat's servers do, in a thread, again
        after short delays until it is answered 200 or 204 (or the delays run out)."""
        if not url:
            return None
        record = {"url": url, "statuses": [], "delivered": False}
        self.deliveries.append(record)

        def run():
            for delay in self.delivery_delays:
                time.sleep(delay)
                try:
                    answer = requests.post(url, data=body.encode(), headers=headers, timeout=5)
                    record["statuses"].append(answer.status_code)
                    if answer.status_code in (200, 204):
                        record["delivered"] = True
                        return
                except requests.RequestException as exc:
                    record["statuses"].append(repr(exc))

        thread = threading.Thread(target=run, daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def _trade_by(self, key: str, value: str) -> dict | None:
        return next((t for t in self.trades.values() if value and t[key] == value), None)

    def _payer_side(self, request: Request) -> Response:
        response = self._payer_route(request)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    def _payer_route(self, request: Request) -> Response:
        if request.method == "GET" and request.path == "/fake/jsbridge.js":
            return Response(self.jsbridge_script(), 200, {"Content-Type": "text/javascript"})
        if request.method == "GET" and request.path == "/fake/h5":
            trade = self._trade_by("prepay_id", request.query.get("prepay_id", ""))
            if trade is None:
                return Response.html("<h1>Fake WeChat Pay</h1><p>unknown prepay_id</p>", 404)
            return Response.html(self._h5_page(trade, request.query.get("redirect_url", "")))
        if request.method == "POST" and request.path == "/fake/h5/pay":
            form = request.form
            trade = self._trade_by("prepay_id", form.get("prepay_id", ""))
            if trade is None:
                return Response.html("<h1>Fake WeChat Pay</h1><p>unknown prepay_id</p>", 404)
            self.pay(trade["out_trade_no"])
            redirect = form.get("redirect_url", "")
            if redirect.startswith(("http://", "https://")):
                return Response.redirect(redirect)
            return Response.html("<h1>Fake WeChat Pay</h1><p>支付成功</p>")
        if request.method == "POST" and request.path == "/fake/scan":
            trade = self._trade_by("code_url", self._body(request).get("code_url", ""))
            if trade is None:
                return Response.json({"result": "FAIL", "message": "unknown code_url"}, 404)
            self.pay(trade["out_trade_no"])
            return Response.json({"result": "SUCCESS", "out_trade_no": trade["out_trade_no"]})
        if request.method == "POST" and request.path == "/fake/jsapi-pay":
            return self._jsapi_pay(self._body(request))
        return Response.html("<h1>Fake WeChat Pay</h1><p>not found</p>", 404)

    def _h5_page(self, trade: dict, redirect_url: str) -> str:
        return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Fake WeChat Pay</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Fake WeChat Pay</h1>
<p>{html.escape(trade["description"])}</p><p>¥{yuan(trade["total"])}</p>
<form method="post" action="/fake/h5/pay">
<input type="hidden" name="prepay_id" value="{html.escape(trade["prepay_id"])}">
<input type="hidden" name="redirect_url" value="{html.escape(redirect_url)}">
<button type="submit" id="fake-wechat-pay">确认支付</button>
</form></body></html>"""

    def _jsapi_pay(self, params: dict) -> Response:
        """What WeChat's client checks before it pays a JSAPI trade: our appId, a
        known prepay_id, signType RSA and paySign by the merchant's key."""
        fail = Response.json({"err_msg": "get_brand_wcpay_request:fail"})
        package = str(params.get("package", ""))
        trade = self._trade_by("prepay_id", package.removeprefix("prepay_id="))
        if (
            trade is None
            or not package.startswith("prepay_id=")
            or params.get("appId") != self.appid
            or params.get("signType") != "RSA"
            or not str(params.get("timeStamp", "")).isdigit()
        ):
            return fail
        message = jsapi_message(
            params["appId"], str(params["timeStamp"]), str(params.get("nonceStr", "")), package
        )
        if not rsa_verify(self.merchant_public_key, message, str(params.get("paySign", ""))):
            return fail
        self.pay(trade["out_trade_no"])
        return Response.json({"err_msg": "get_brand_wcpay_request:ok"})

    def jsbridge_script(self) -> str:
        """WeixinJSBridge as WeChat's browser provides it, for a browser test's init
        script: getBrandWCPayRequest posts its parameters here and answers as
        WeChat does. text/plain keeps the cross-origin fetch free of a preflight."""
        return """(function () {
  var base = __BASE__;
  function invoke(name, params, callback) {
    var done = callback || function () {};
    if (name !== "getBrandWCPayRequest") { done({err_msg: name + ":fail"}); return; }
    fetch(base + "/fake/jsapi-pay", {
      method: "POST",
      headers: {"Content-Type": "text/plain"},
      body: JSON.stringify(params)
    }).then(function (r) { return r.json(); })
      .then(function (answer) { done(answer); })
      .catch(function () { done({err_msg: "get_brand_wcpay_request:fail"}); });
  }
  window.WeixinJSBridge = {invoke: invoke, call: function () {}, on: function () {}};
  function ready() { document.dispatchEvent(new Event("WeixinJSBridgeReady")); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else { ready(); }
})();
""".replace("__BASE__", json.dumps(self.url))

    # --- refunds ---------------------------------------------------------------

    def _refund_view(self, refund: dict) -> dict:
        data = {
            "refund_id": refund["refund_id"],
            "out_refund_no": refund["out_refund_no"],
            "transaction_id": refund["transaction_id"],
            "out_trade_no": refund["out_trade_no"],
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": rfc3339(refund["created"]),
            "status": refund["status"],
            "funds_account": "AVAILABLE",
            "amount": {
                "total": refund["total"],
                "refund": refund["refund"],
                "payer_total": refund["total"],
                "payer_refund": refund["refund"],
                "settlement_total": refund["total"],
                "settlement_refund": refund["refund"],
                "discount_refund": 0,
                "currency": "CNY",
                "refund_fee": 0,
                "from": [],
            },
            "promotion_detail": [],
        }
        if refund["success_time"]:
            data["success_time"] = rfc3339(refund["success_time"])
        return data

    def _create_refund(self, request: Request) -> Response:
        body = self._body(request)
        amount = body.get("amount") or {}
        if not body.get("out_refund_no"):
            return self._param_error("out_refund_no")
        if not isinstance(amount.get("refund"), int) or not isinstance(amount.get("total"), int):
            return self._param_error("amount")
        if amount.get("currency", "CNY") != "CNY":
            return self._param_error("amount/currency")
        with self._lock:
            existing = self.refunds.get(body["out_refund_no"])
            if existing is not None:  # one out_refund_no refunds once
                return self._json(self._refund_view(existing))
            trade = self.trades.get(body.get("out_trade_no", "")) or self._trade_by(
                "transaction_id", body.get("transaction_id", "")
            )
            if trade is None:
                return self._error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
            if trade["state"] not in ("SUCCESS", "REFUND"):
                return self._error(400, "INVALID_REQUEST", "订单未支付，不能退款")
            if amount["total"] != trade["total"]:
                return self._error(400, "INVALID_REQUEST", "订单金额与原订单金额不一致")
            taken = sum(
                r["refund"]
                for r in self.refunds.values()
                if r["out_trade_no"] == trade["out_trade_no"] and r["status"] != "CLOSED"
            )
            if amount["refund"] <= 0 or amount["refund"] > trade["total"] - taken:
                return self._error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            refund = {
                "out_refund_no": body["out_refund_no"],
                "refund_id": "50" + _digits(27),
                "out_trade_no": trade["out_trade_no"],
                "transaction_id": trade["transaction_id"],
                "refund": amount["refund"],
                "total": trade["total"],
                "reason": body.get("reason", ""),
                "notify_url": body.get("notify_url", ""),
                "status": self.refund_status,
                "created": datetime.now(SHANGHAI),
                "success_time": None,
            }
            if refund["status"] == "SUCCESS":
                refund["success_time"] = refund["created"]
                trade["state"] = "REFUND"
            self.refunds[refund["out_refund_no"]] = refund
        return self._json(self._refund_view(refund))

    def _query_refund(self, request: Request, number: str) -> Response:
        refund = self.refunds.get(number)
        if refund is None:
            return self._error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return self._json(self._refund_view(refund))

    def finish_refund(self, out_refund_no: str, status: str = "SUCCESS", **envelope):
        """The money arrives (or does not): the refund becomes `status` and its
        REFUND.<status> notification is delivered to its notify_url, if any.
        Returns the notification's (headers, body)."""
        with self._lock:
            refund = self.refunds[out_refund_no]
            refund["status"] = status
            if status == "SUCCESS":
                refund["success_time"] = datetime.now(SHANGHAI)
                self.trades[refund["out_trade_no"]]["state"] = "REFUND"
        resource = {
            "mchid": self.mchid,
            "out_trade_no": refund["out_trade_no"],
            "transaction_id": refund["transaction_id"],
            "out_refund_no": refund["out_refund_no"],
            "refund_id": refund["refund_id"],
            "refund_status": status,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": refund["total"],
                "refund": refund["refund"],
                "payer_total": refund["total"],
                "payer_refund": refund["refund"],
            },
        }
        if refund["success_time"]:
            resource["success_time"] = rfc3339(refund["success_time"])
        summary = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[status]
        headers, body = self.event(
            f"REFUND.{status}", summary, "refund", resource, associated_data="refund", **envelope
        )
        self.deliver(refund["notify_url"], headers, body)
        return headers, body

    # --- transfers (商家转账) ----------------------------------------------------

    def _create_transfer(self, request: Request) -> Response:
        body = self._body(request)
        if body.get("appid") != self.appid:
            return self._error(400, "PARAM_ERROR", "appid与商户号不匹配")
        for name in ("out_bill_no", "transfer_scene_id", "openid", "transfer_remark"):
            if not isinstance(body.get(name), str) or not body[name]:
                return self._param_error(name)
        amount = body.get("transfer_amount")
        if not isinstance(amount, int) or amount <= 0:
            return self._param_error("transfer_amount")
        if "notify_url" in body and not isinstance(body["notify_url"], str):
            return self._param_error("notify_url")  # typed fields: null is not a string
        if body["transfer_scene_id"] == "1005":
            reported = {i.get("info_type") for i in body.get("transfer_scene_report_infos") or []}
            if not {"岗位类型", "报酬说明"} <= reported:
                return self._error(400, "PARAM_ERROR", "转账场景报备信息不完整")
        user_name = ""
        if body.get("user_name"):
            if request.headers.get("wechatpay-serial") != self.serial_no:
                return self._error(400, "PARAM_ERROR", "Wechatpay-Serial 与加密公钥不匹配")
            try:
                user_name = oaep_decrypt(self.platform_private_key, body["user_name"])
            except (ValueError, TypeError):
                return self._error(400, "PARAM_ERROR", "user_name 解密失败")
        elif amount >= 200000:
            return self._error(400, "PARAM_ERROR", "转账金额>=2000元时，收款用户姓名必填")
        with self._lock:
            bill = self.bills.get(body["out_bill_no"])
            if bill is not None:  # one out_bill_no pays once
                if bill["transfer_amount"] != amount or bill["openid"] != body["openid"]:
                    return self._error(400, "INVALID_REQUEST", "商户单号重复")
                return self._json(self._transfer_answer(bill))
            now = datetime.now(SHANGHAI)
            bill = {
                "out_bill_no": body["out_bill_no"],
                "transfer_bill_no": "1330000" + _digits(33),
                "transfer_scene_id": body["transfer_scene_id"],
                "openid": body["openid"],
                "user_name": user_name,
                "transfer_amount": amount,
                "transfer_remark": body["transfer_remark"],
                "report_infos": body.get("transfer_scene_report_infos") or [],
                "notify_url": body.get("notify_url", ""),
                "state": self.transfer_initial_state,
                "package_info": base64.b64encode(secrets.token_bytes(48)).decode(),
                "fail_reason": "",
                "created": now,
                "updated": now,
            }
            self.bills[bill["out_bill_no"]] = bill
        return self._json(self._transfer_answer(bill))

    @staticmethod
    def _transfer_answer(bill: dict) -> dict:
        data = {
            "out_bill_no": bill["out_bill_no"],
            "transfer_bill_no": bill["transfer_bill_no"],
            "create_time": rfc3339(bill["created"]),
            "state": bill["state"],
        }
        if bill["state"] == "WAIT_USER_CONFIRM":
            data["package_info"] = bill["package_info"]
        if bill["fail_reason"]:
            data["fail_reason"] = bill["fail_reason"]
        return data

    def _transfer_view(self, bill: dict) -> dict:
        data = {
            "mch_id": self.mchid,
            "out_bill_no": bill["out_bill_no"],
            "transfer_bill_no": bill["transfer_bill_no"],
            "appid": self.appid,
            "state": bill["state"],
            "transfer_amount": bill["transfer_amount"],
            "transfer_remark": bill["transfer_remark"],
            "openid": bill["openid"],
            "create_time": rfc3339(bill["created"]),
            "update_time": rfc3339(bill["updated"]),
        }
        if bill["fail_reason"]:
            data["fail_reason"] = bill["fail_reason"]
        return data

    def _query_transfer(self, request: Request, number: str) -> Response:
        bill = self.bills.get(number)
        if bill is None:
            return self._error(404, "NOT_FOUND", "记录不存在")
        return self._json(self._transfer_view(bill))

    def _finish_transfer(self, out_bill_no: str, state: str, reason: str, envelope: dict):
        with self._lock:
            bill = self.bills[out_bill_no]
            bill.update(state=state, fail_reason=reason, updated=datetime.now(SHANGHAI))
        resource = {
            key: value
            for key, value in self._transfer_view(bill).items()
            if key not in ("appid", "transfer_remark")
        }
        headers, body = self.event(
            "MCHTRANSFER.BILL.FINISHED",
            "商家转账单据终态通知",
            "mch_payment",
            resource,
            associated_data="mch_payment",
            **envelope,
        )
        self.deliver(bill["notify_url"], headers, body)
        return headers, body

    def confirm_transfer(self, out_bill_no: str, **envelope):
        """The payee accepts in WeChat (确认收款): SUCCESS, notified if notify_url was given."""
        return self._finish_transfer(out_bill_no, "SUCCESS", "", envelope)

    def fail_transfer(
        self, out_bill_no: str, reason: str = "收款用户实名信息校验不通过", **envelope
    ):
        return self._finish_transfer(out_bill_no, "FAIL", reason, envelope)

    # --- the trade bill (交易账单) ------------------------------------------------

    @staticmethod
    def bill_row(values: list[str]) -> str:
        return ",".join("`" + value for value in values)

    def bill_csv(self, day: date) -> str:
        """The day's bill (Asia/Shanghai) in WeChat's format: a header, one line per
        payment and per successful refund, then the summary header and its line."""
        rows, orders, refunds, fees, count = [], Decimal(0), Decimal(0), Decimal(0), 0
        for trade in self.trades.values():
            when = trade["success_time"]
            if not when or when.astimezone(SHANGHAI).date() != day:
                continue
            fee = (Decimal(trade["total"]) * Decimal("0.006") / 100).quantize(Decimal("0.00001"))
            rows.append(
                self.bill_row(
                    [
                        when.strftime("%Y-%m-%d %H:%M:%S"),
                        self.appid,
                        self.mchid,
                        "0",
                        "",
                        trade["transaction_id"],
                        trade["out_trade_no"],
                        trade["openid"],
                        trade["trade_type"],
                        "SUCCESS",
                        "OTHERS",
                        "CNY",
                        yuan(trade["total"]),
                        "0.00",
                        "0",
                        "0",
                        "0.00",
                        "0.00",
                        "",
                        "",
                        trade["description"],
                        "",
                        f"{fee}",
                        "0.60%",
                        yuan(trade["total"]),
                        "0.00",
                        "",
                    ]
                )
            )
            orders += Decimal(trade["total"]) / 100
            fees += fee
            count += 1
        for refund in self.refunds.values():
            when = refund["success_time"]
            if refund["status"] != "SUCCESS" or not when:
                continue
            if when.astimezone(SHANGHAI).date() != day:
                continue
            trade = self.trades[refund["out_trade_no"]]
            rows.append(
                self.bill_row(
                    [
                        when.strftime("%Y-%m-%d %H:%M:%S"),
                        self.appid,
                        self.mchid,
                        "0",
                        "",
                        trade["transaction_id"],
                        trade["out_trade_no"],
                        trade["openid"],
                        trade["trade_type"],
                        "REFUND",
                        "OTHERS",
                        "CNY",
                        "0.00",
                        "0.00",
                        refund["refund_id"],
                        refund["out_refund_no"],
                        yuan(refund["refund"]),
                        "0.00",
                        "ORIGINAL",
                        "SUCCESS",
                        trade["description"],
                        "",
                        "0.00000",
                        "0.60%",
                        "0.00",
                        yuan(refund["refund"]),
                        "",
                    ]
                )
            )
            refunds += Decimal(refund["refund"]) / 100
            count += 1
        if not rows:
            return ""
        summary = self.bill_row(
            [
                str(count),
                f"{orders:.2f}",
                f"{refunds:.2f}",
                "0.00",
                f"{fees:.5f}",
                f"{orders:.2f}",
                f"{refunds:.2f}",
            ]
        )
        return "\n".join([BILL_HEADER, *rows, BILL_SUMMARY_HEADER, summary]) + "\n"

    def _trade_bill(self, request: Request) -> Response:
        try:
            day = date.fromisoformat(request.query.get("bill_date", ""))
        except ValueError:
            return self._error(400, "PARAM_ERROR", "bill_date 格式错误")
        if request.query.get("bill_type", "ALL") != "ALL":
            return self._error(400, "PARAM_ERROR", "this fake serves bill_type=ALL only")
        text = self.bill_overrides.get(day) or self.bill_csv(day)
        if not text:
            return self._error(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        raw = text.encode("utf-8")
        token = secrets.token_urlsafe(16)
        self._bill_files[token] = (raw, request.query.get("tar_type") == "GZIP")
        return self._json(
            {
                "hash_type": "SHA1",
                "hash_value": self.bill_hash_override or hashlib.sha1(raw).hexdigest(),  # noqa: S324
                "download_url": f"{self.url}/v3/billdownload/file?token={token}",
            }
        )

    def _download_bill(self, request: Request) -> Response:
        stored = self._bill_files.get(request.query.get("token", ""))
        if stored is None:
            return self._error(400, "INVALID_REQUEST", "下载链接已失效")
        raw, gzipped = stored
        content = gzip.compress(raw) if gzipped else raw
        return Response(content, 200, {"Content-Type": "application/octet-stream"})

    # --- platform certificates (平台证书) ------------------------------------------

    def _certificates(self, request: Request) -> Response:
        nonce = random_nonce(12)
        certificate = self.certificate
        answer = {
            "data": [
                {
                    "serial_no": self.certificate_serial_no,
                    "effective_time": rfc3339(certificate.not_valid_before_utc),
                    "expire_time": rfc3339(certificate.not_valid_after_utc),
                    "encrypt_certificate": {
                        "algorithm": "AEAD_AES_256_GCM",
                        "nonce": nonce,
                        "associated_data": "certificate",
                        "ciphertext": aead_encrypt(
                            self.apiv3_key,
                            self.certificate_pem,
                            nonce=nonce,
                            associated_data="certificate",
                        ),
                    },
                }
            ]
        }
        return self._json(answer)


__all__ = [
    "FakeWechatPay",
    "aead_encrypt",
    "django_headers",
    "generate_private_key",
    "jsapi_message",
    "new_serial_no",
    "private_pem",
    "public_pem",
    "request_message",
    "response_message",
    "rsa_verify",
]
