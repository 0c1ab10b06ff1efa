"""A fake of Alipay's open platform (支付宝开放平台) on loopback, for tests.

It implements, as Alipay documents them, the parts our gateway uses, so the
real python-alipay-sdk client talks to it through ALIPAY_GATEWAY_URL:

- Requests to /gateway.do carry the common parameters (app_id, method,
  charset, sign_type, timestamp, version, biz_content, notify_url,
  return_url) signed RSA2 with the app's private key over the sorted
  `key=value` pairs of every non-empty parameter but `sign`, joined with `&`.
  The fake verifies that signature with the app's public key (written with
  `cryptography`, not the SDK's pycryptodome, so each side checks the other)
  and refuses a bad one as Alipay does (40002 isv.invalid-signature).
- Each synchronous answer is `{"<method, dots as underscores>_response": {...},
  "sign": "..."}`, the signature RSA2 over the exact JSON text of the response
  object, which is the substring the SDK cuts out and verifies.
- Async notifications are form-encoded POSTs signed over the sorted pairs
  without `sign` and `sign_type`, delivered again until the answer is exactly
  `success`.
- The daily bill is a zip of GBK CSV files (业务明细 and 业务明细(汇总)),
  their names GBK-encoded too (no UTF-8 flag), in the column layout of
  Alipay's trade bill.

Where the fake is simpler than Alipay it says so in a comment; tests that
depend on such a point prove only what the fake does.
"""

import base64
import html
import io
import json
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .server import FakeServer, Request, Response

SHANGHAI = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PAGE_PAY = "alipay.trade.page.pay"
WAP_PAY = "alipay.trade.wap.pay"
# The product code each browser method is signed for (销售产品码).
PRODUCT_CODES = {PAGE_PAY: "FAST_INSTANT_TRADE_PAY", WAP_PAY: "QUICK_WAP_WAY"}
AMOUNT = re.compile(r"^\d{1,9}(\.\d{1,2})?$")

# The columns of the trade bill's detail file (业务明细), in Alipay's order.
BILL_COLUMNS = (
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
)
SUMMARY_COLUMNS = (
    "门店编号",
    "门店名称",
    "交易订单总笔数",
    "退款订单总笔数",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "卡消费金额（元）",
    "服务费（元）",
    "分润（元）",
    "实收净额（元）",
)


# --- RSA2 (SHA256withRSA, PKCS#1 v1.5), as Alipay signs ----------------------------------


def generate_key_pair() -> tuple[str, str]:
    """A fresh RSA 2048 key pair as PEM text: (private PKCS#8, public SubjectPublicKeyInfo)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


@lru_cache(maxsize=32)
def _private_key(pem: str):
    return serialization.load_pem_private_key(pem.encode(), password=None)


@lru_cache(maxsize=32)
def _public_key(pem: str):
    return serialization.load_pem_public_key(pem.encode())


def rsa2_sign(message: str, private_key_pem: str) -> str:
    signature = _private_key(private_key_pem).sign(
        message.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return base64.b64encode(signature).decode()


def rsa2_verify(message: str, signature: str, public_key_pem: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        _public_key(public_key_pem).verify(
            raw, message.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def request_signing_string(params: dict[str, str]) -> str:
    """What the app signs in a request: sorted non-empty pairs without `sign` (sign_type stays)."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")


def notification_signing_string(params: dict[str, str]) -> str:
    """What Alipay signs in a notification or return: sorted non-empty pairs, sign and
    sign_type excluded (Alipay's 异步通知验签: 除去 sign、sign_type 两个参数外 ...)."""
    return "&".join(
        f"{k}={params[k]}"
        for k in sorted(params)
        if k not in ("sign", "sign_type") and params[k] != ""
    )


def sign_notification(params: dict[str, str], private_key_pem: str) -> dict[str, str]:
    signed = {**params, "sign_type": "RSA2"}
    signed["sign"] = rsa2_sign(notification_signing_string(signed), private_key_pem)
    return signed


def _money(value) -> str:
    return f"{Decimal(value):.2f}"


class _GbkName(zipfile.ZipInfo):
    """A zip member whose name is stored in GBK without the UTF-8 flag, as Alipay's are."""

    def _encodeFilenameFlags(self):  # noqa: N802 - zipfile's name
        return self.filename.encode("gbk"), self.flag_bits


class FakeAlipay(FakeServer):
    """Alipay's gateway for one app: trades, refunds, transfers and bills, all in memory.

    Tests read and change its state directly: `trades` (by out_trade_no),
    `refunds` (by (out_trade_no, out_request_no)), `transfers` (by out_biz_no),
    `accounts` (payee login id -> real name), `balance` (what transfers may
    spend), `notifications_delivered` ((url, status, body) per attempt),
    `extra_bill_lines` (rows added to every bill), `calls` (each verified
    API call). `fail_next(method, mode)` makes the next call of `method` fail.
    """

    def __init__(
        self,
        app_id: str,
        app_public_key_pem: str,
        alipay_private_key_pem: str,
        *,
        seller_id: str = "2088102177000156",
        notify_delays: tuple[float, ...] = (0, 0.05, 0.1, 0.2),
    ):
        super().__init__()
        self.app_id = app_id
        self.app_public_key_pem = app_public_key_pem
        self.alipay_private_key_pem = alipay_private_key_pem
        self.seller_id = seller_id  # also the account (PID) named in the bill
        # Seconds to wait before each delivery attempt (Alipay: 4m, 10m, 10m, 1h, ...).
        self.notify_delays = notify_delays
        self.trades: dict[str, dict] = {}
        self.refunds: dict[tuple[str, str], dict] = {}
        self.transfers: dict[str, dict] = {}
        self.accounts: dict[str, str] = {}
        self.balance = Decimal("1000000.00")
        self.notifications_delivered: list[tuple[str, int, str]] = []
        self.extra_bill_lines: list[dict] = []
        self.calls: list[dict] = []
        # Sign answers with another key, to prove the client checks them.
        self.sign_answers_with: str | None = None
        # Certificate mode: the (app_cert_sn, alipay_root_cert_sn) every request must carry,
        # and the alipay_cert_sn answers name.
        self.expected_cert_sn: tuple[str, str] | None = None
        self.alipay_cert_sn = ""
        self.hang_seconds = 1.0
        self.clock = None  # a callable giving Shanghai wall time, to place trades on a day
        self._failures: dict[str, list[str]] = {}
        self._lock = threading.RLock()
        self._delivery = threading.Condition()
        self._threads: list[threading.Thread] = []

    def start(self) -> "FakeAlipay":
        super().start()
        report = self._httpd.handle_error

        def handle_error(request, client_address):
            # A client that gave up waiting ("after-timeout") closed its end: expected.
            if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                report(request, client_address)

        self._httpd.handle_error = handle_error
        return self

    # --- what tests call ------------------------------------------------------------------

    def fail_next(self, method: str, mode: str) -> None:
        """Make the next call of `method` fail.

        "after-504": do the work, then answer HTTP 504 (a proxy timing out);
        "after-timeout": do the work, then answer nothing for `hang_seconds`;
        "system-error": do nothing and answer Alipay's "outcome unknown" error
        (SYSTEM_ERROR for transfers, ACQ.SYSTEM_ERROR for trades, 20000 else);
        "refuse": do nothing and answer a business refusal (40004 INVALID_PARAMETER).
        The first two leave the client not knowing what happened although it did.
        """
        assert mode in ("after-504", "after-timeout", "system-error", "refuse"), mode
        self._failures.setdefault(method, []).append(mode)

    def create_trade(self, out_trade_no: str, total_amount, **fields) -> dict:
        """A trade waiting for the buyer, as if the cashier had been opened."""
        with self._lock:
            trade = {
                "out_trade_no": out_trade_no,
                "trade_no": self._new_trade_no(),
                "total_amount": _money(total_amount),
                "subject": fields.pop("subject", out_trade_no),
                "status": "WAIT_BUYER_PAY",
                "method": fields.pop("method", PAGE_PAY),
                "notify_url": fields.pop("notify_url", ""),
                "return_url": fields.pop("return_url", ""),
                "quit_url": fields.pop("quit_url", ""),
                "time_expire": fields.pop("time_expire", ""),
                "gmt_create": self.timestamp(),
                "gmt_payment": "",
                "gmt_close": "",
                "refunded": Decimal("0.00"),
                "buyer_id": "2088102177846880",
                "buyer_logon_id": "csq***@sandbox.com",
                **fields,
            }
            self.trades[out_trade_no] = trade
            return trade

    def pay(self, out_trade_no: str, deliver: bool = True) -> dict[str, str]:
        """The buyer pays: the trade succeeds and its signed notification is returned
        (and, with `deliver`, posted to its notify_url in the background)."""
        with self._lock:
            trade = self.trades[out_trade_no]
            if trade["status"] != "WAIT_BUYER_PAY":
                raise ValueError(f"trade {out_trade_no} is {trade['status']}")
            trade["status"] = "TRADE_SUCCESS"
            trade["gmt_payment"] = self.timestamp()
            params = self.notification_for(out_trade_no)
        if deliver and trade["notify_url"]:
            self.deliver(trade["notify_url"], params)
        return params

    def notification_for(
        self, out_trade_no: str, /, *, sign_with: str | None = None, **overrides
    ) -> dict[str, str]:
        """The signed trade_status_sync notification of a trade in its present state.

        `overrides` change fields before signing (None removes one); `sign_with`
        signs with another private key, to forge one.
        """
        trade = self.trades[out_trade_no]
        total = trade["total_amount"]
        params = {
            "notify_time": self.timestamp(),
            "notify_type": "trade_status_sync",
            "notify_id": self._new_notify_id(),
            "app_id": self.app_id,
            "auth_app_id": self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": trade["trade_no"],
            "out_trade_no": out_trade_no,
            "buyer_id": trade["buyer_id"],
            "buyer_logon_id": trade["buyer_logon_id"],
            "seller_id": self.seller_id,
            "trade_status": trade["status"],
            "total_amount": total,
            "receipt_amount": total,
            "invoice_amount": total,
            "buyer_pay_amount": total,
            "point_amount": "0.00",
            "subject": trade["subject"],
            "gmt_create": trade["gmt_create"],
            "gmt_payment": trade["gmt_payment"],
            "fund_bill_list": json.dumps(
                [{"amount": total, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")
            ),
        }
        params.update(overrides)
        params = {k: v for k, v in params.items() if v is not None and v != ""}
        return sign_notification(params, sign_with or self.alipay_private_key_pem)

    def deliver(self, url: str, params: dict[str, str]) -> threading.Thread:
        """Post `params` to `url` in the background until answered exactly `success`."""
        thread = threading.Thread(target=self._deliver, args=(url, params), daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def wait_for_deliveries(self, count: int, timeout: float = 3.0) -> list:
        """Block until `count` delivery attempts were made (or fail the test)."""
        with self._delivery:
            if not self._delivery.wait_for(
                lambda: len(self.notifications_delivered) >= count, timeout
            ):
                raise AssertionError(
                    f"{len(self.notifications_delivered)} deliveries, expected {count}"
                )
        return list(self.notifications_delivered)

    def wait_for_idle(self, timeout: float = 3.0) -> None:
        """Wait until every delivery thread is done (all its retries made)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def calls_of(self, method: str) -> list[dict]:
        return [call for call in self.calls if call["method"] == method]

    # --- the HTTP side --------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path == "/gateway.do":
            return self._gateway(request)
        if request.path == "/fake/pay" and request.method == "POST":
            return self._cashier_pay(request.form.get("out_trade_no", ""))
        if request.path == "/downloadBillFile.resource":
            return self._bill_file(request.query)
        return Response("not found", 404)

    def _gateway(self, request: Request) -> Response:
        params = dict(request.query)
        if request.method == "POST" and "urlencoded" in request.headers.get("content-type", ""):
            params.update(request.form)
        method = params.get("method", "")
        browser = method in PRODUCT_CODES
        refusal = self._check_common(params)
        if refusal:
            sub_code, sub_msg, code = refusal
            return self._error(method, code, sub_code, sub_msg, browser=browser)
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            return self._error(method, "40002", "isv.invalid-parameter", "biz_content 非法")
        self.calls.append({"method": method, "biz": biz, "params": params})
        handler = self._handlers().get(method)
        if handler is None:
            return self._error(method, "40002", "isv.invalid-method", "不存在的方法名")
        pending = self._failures.get(method)
        failure = pending.pop(0) if pending else None
        if failure == "system-error":
            return self._system_error(method)
        if failure == "refuse":
            return self._refuse(method, "INVALID_PARAMETER", "参数有误")
        with self._lock:
            response = handler(biz, params)
        if failure == "after-504":
            return Response("<html><body>504 Gateway Time-out</body></html>", 504)
        if failure == "after-timeout":
            time.sleep(self.hang_seconds)
        return response

    def _handlers(self):
        return {
            PAGE_PAY: self._browser_pay,
            WAP_PAY: self._browser_pay,
            "alipay.trade.query": self._trade_query,
            "alipay.trade.close": self._trade_close,
            "alipay.trade.refund": self._trade_refund,
            "alipay.trade.fastpay.refund.query": self._refund_query,
            "alipay.fund.trans.uni.transfer": self._transfer,
            "alipay.fund.trans.common.query": self._transfer_query,
            "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
        }

    def _check_common(self, params: dict[str, str]) -> tuple[str, str, str] | None:
        """Alipay's public error codes for the common parameters: (sub_code, sub_msg, code)."""
        if not params.get("sign"):
            return "isv.missing-signature", "缺少签名参数", "40001"
        if not params.get("app_id"):
            return "isv.missing-app-id", "缺少AppID参数", "40001"
        if params["app_id"] != self.app_id:
            return "isv.invalid-app-id", "无效的AppID参数", "40002"
        if not params.get("method"):
            return "isv.missing-method", "缺少方法名参数", "40001"
        if params.get("sign_type") != "RSA2":
            return "isv.invalid-signature-type", "无效的签名类型", "40002"
        if params.get("charset", "").lower() != "utf-8":
            return "isv.invalid-charset", "字符集错误", "40002"
        if (
            self.expected_cert_sn
            and (
                params.get("app_cert_sn"),
                params.get("alipay_root_cert_sn"),
            )
            != self.expected_cert_sn
        ):
            return "isv.app-cert-sn-mismatch", "应用公钥证书序列号不匹配", "40002"
        content = request_signing_string(params)
        if not rsa2_verify(content, params["sign"], self.app_public_key_pem):
            return (
                "isv.invalid-signature",
                "验签出错，建议检查签名字符串或签名私钥与应用公钥证书是否匹配，"
                f"网关生成的验签字符串为：{content}",
                "40002",
            )
        return None

    # --- answers --------------------------------------------------------------------------

    def _answer(self, method: str, body: dict, *, signed: bool = True) -> Response:
        """Alipay's envelope; the signature covers the response object's exact JSON text."""
        key = method.replace(".", "_") + "_response" if method else "error_response"
        inner = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        text = f'{{"{key}":{inner}'
        if self.alipay_cert_sn:
            text += f',"alipay_cert_sn":"{self.alipay_cert_sn}"'
        if signed:
            sign = rsa2_sign(inner, self.sign_answers_with or self.alipay_private_key_pem)
            text += f',"sign":"{sign}"'
        text += "}"
        return Response(text.encode(), 200, {"Content-Type": "text/html;charset=utf-8"})

    def _ok(self, method: str, **fields) -> Response:
        return self._answer(method, {"code": "10000", "msg": "Success", **fields})

    def _refuse(self, method: str, sub_code: str, sub_msg: str) -> Response:
        """A business refusal (40004): signed, like every answer Alipay gives an app it knows."""
        return self._answer(
            method,
            {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg},
        )

    def _error(self, method, code, sub_code, sub_msg, *, browser=False) -> Response:
        """A refused request. Alipay shows the browser an error page; to an API call it
        answers the error unsigned here (it could not tell whose key to trust)."""
        if browser:
            body = (
                "<!doctype html><title>支付宝 - 错误</title>"
                f"<h1>错误代码 {html.escape(sub_code)}</h1><p>{html.escape(sub_msg)}</p>"
            )
            return Response.html(body, 400)
        msg = {"40001": "Missing Required Arguments", "40002": "Invalid Arguments"}.get(code, "")
        return self._answer(
            method,
            {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg},
            signed=False,
        )

    def _system_error(self, method: str) -> Response:
        if method.startswith("alipay.fund."):
            return self._refuse(method, "SYSTEM_ERROR", "系统繁忙")
        if method.startswith("alipay.trade."):
            return self._refuse(method, "ACQ.SYSTEM_ERROR", "系统错误")
        return self._answer(
            method,
            {
                "code": "20000",
                "msg": "Service Currently Unavailable",
                "sub_code": "isp.unknow-error",
                "sub_msg": "系统繁忙",
            },
        )

    # --- trades ---------------------------------------------------------------------------

    def _browser_pay(self, biz: dict, params: dict[str, str]) -> Response:
        method = params["method"]
        out_trade_no = biz.get("out_trade_no", "")
        total = str(biz.get("total_amount", ""))
        if not out_trade_no or not biz.get("subject") or not total:
            return self._error(method, "40004", "ACQ.INVALID_PARAMETER", "参数无效", browser=True)
        if biz.get("product_code") != PRODUCT_CODES[method]:
            return self._error(
                method, "40004", "ACQ.INVALID_PARAMETER", "product_code 无效", browser=True
            )
        if not AMOUNT.match(total) or not Decimal("0.01") <= Decimal(total) <= Decimal(1e8):
            return self._error(
                method, "40004", "ACQ.INVALID_PARAMETER", "total_amount 无效", browser=True
            )
        expire = biz.get("time_expire", "")
        if expire and self._is_past(expire):
            return self._error(method, "40004", "ACQ.TRADE_HAS_CLOSE", "订单已超时", browser=True)
        trade = self.trades.get(out_trade_no)
        if trade is None:
            trade = self.create_trade(
                out_trade_no,
                total,
                subject=biz["subject"],
                method=method,
                time_expire=expire,
                quit_url=biz.get("quit_url", ""),
            )
        elif trade["status"] == "TRADE_CLOSED":
            return self._error(method, "40004", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭", browser=True)
        elif trade["status"] != "WAIT_BUYER_PAY":
            return self._error(
                method, "40004", "ACQ.TRADE_HAS_SUCCESS", "交易已被支付", browser=True
            )
        elif trade["total_amount"] != _money(total):
            return self._error(
                method, "40004", "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改", browser=True
            )
        trade["notify_url"] = params.get("notify_url", "")
        trade["return_url"] = params.get("return_url", "")
        page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Fake Alipay cashier</title></head>
<body>
<h1>Fake Alipay cashier</h1>
<p class="subject">{html.escape(trade["subject"])}</p>
<p class="amount">¥{trade["total_amount"]}</p>
<form method="post" action="/fake/pay">
<input type="hidden" name="out_trade_no" value="{html.escape(out_trade_no)}">
<button type="submit" id="fake-alipay-pay">Pay</button>
</form>
</body></html>"""
        return Response.html(page)

    def _cashier_pay(self, out_trade_no: str) -> Response:
        trade = self.trades.get(out_trade_no)
        if trade is None or trade["status"] != "WAIT_BUYER_PAY":
            return Response.html("<h1>交易不存在或已支付</h1>", 409)
        self.pay(out_trade_no)
        if not trade["return_url"]:
            return Response.html("<h1>支付成功</h1>")
        # The synchronous return (同步返回): signed like a notification, for show only.
        returned = sign_notification(
            {
                "method": trade["method"] + ".return",
                "app_id": self.app_id,
                "auth_app_id": self.app_id,
                "charset": "utf-8",
                "version": "1.0",
                "timestamp": self.timestamp(),
                "out_trade_no": out_trade_no,
                "trade_no": trade["trade_no"],
                "total_amount": trade["total_amount"],
                "seller_id": self.seller_id,
            },
            self.alipay_private_key_pem,
        )
        separator = "&" if "?" in trade["return_url"] else "?"
        return Response.redirect(trade["return_url"] + separator + urllib.parse.urlencode(returned))

    def _find_trade(self, biz: dict) -> dict | None:
        if biz.get("out_trade_no"):
            return self.trades.get(biz["out_trade_no"])
        for trade in self.trades.values():
            if trade["trade_no"] == biz.get("trade_no"):
                return trade
        return None

    def _trade_query(self, biz: dict, params) -> Response:
        method = "alipay.trade.query"
        trade = self._find_trade(biz)
        if trade is None:
            return self._refuse(method, "ACQ.TRADE_NOT_EXIST", "交易不存在")
        paid = bool(trade["gmt_payment"])
        fields = {
            "trade_no": trade["trade_no"],
            "out_trade_no": trade["out_trade_no"],
            "buyer_logon_id": trade["buyer_logon_id"],
            "trade_status": trade["status"],
            "total_amount": trade["total_amount"],
            "buyer_pay_amount": trade["total_amount"] if paid else "0.00",
            "point_amount": "0.00",
            "invoice_amount": trade["total_amount"] if paid else "0.00",
            "receipt_amount": trade["total_amount"] if paid else "0.00",
            "buyer_user_id": trade["buyer_id"],
        }
        if paid:
            fields["send_pay_date"] = trade["gmt_payment"]
        return self._ok(method, **fields)

    def _trade_close(self, biz: dict, params) -> Response:
        method = "alipay.trade.close"
        trade = self._find_trade(biz)
        if trade is None:
            return self._refuse(method, "ACQ.TRADE_NOT_EXIST", "交易不存在")
        if trade["status"] != "WAIT_BUYER_PAY":
            return self._refuse(method, "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade["status"] = "TRADE_CLOSED"
        trade["gmt_close"] = self.timestamp()
        return self._ok(method, trade_no=trade["trade_no"], out_trade_no=trade["out_trade_no"])

    def _trade_refund(self, biz: dict, params) -> Response:
        method = "alipay.trade.refund"
        trade = self._find_trade(biz)
        if trade is None:
            return self._refuse(method, "ACQ.TRADE_NOT_EXIST", "交易不存在")
        # Without out_request_no Alipay takes the refund as the whole-trade one.
        request_no = biz.get("out_request_no") or trade["out_trade_no"]
        answer = {
            "trade_no": trade["trade_no"],
            "out_trade_no": trade["out_trade_no"],
            "buyer_logon_id": trade["buyer_logon_id"],
            "buyer_user_id": trade["buyer_id"],
        }
        key = (trade["out_trade_no"], request_no)
        if key in self.refunds:  # the same request again: nothing more moves
            return self._ok(method, **answer, fund_change="N", refund_fee=_money(trade["refunded"]))
        if trade["status"] == "TRADE_CLOSED":
            return self._refuse(method, "ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
        if trade["status"] == "TRADE_FINISHED":
            return self._refuse(method, "ACQ.TRADE_HAS_FINISHED", "交易已完结")
        if trade["status"] != "TRADE_SUCCESS":
            return self._refuse(method, "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        amount_text = str(biz.get("refund_amount", ""))
        if not AMOUNT.match(amount_text) or Decimal(amount_text) <= 0:
            return self._refuse(method, "ACQ.INVALID_PARAMETER", "参数无效")
        amount = Decimal(amount_text)
        if trade["refunded"] + amount > Decimal(trade["total_amount"]):
            return self._refuse(method, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        now = self.timestamp()
        self.refunds[key] = {
            "out_trade_no": trade["out_trade_no"],
            "trade_no": trade["trade_no"],
            "out_request_no": request_no,
            "refund_amount": _money(amount),
            "refund_reason": biz.get("refund_reason", ""),
            "refund_status": "REFUND_SUCCESS",
            "gmt_refund_pay": now,
        }
        trade["refunded"] += amount
        if trade["refunded"] == Decimal(trade["total_amount"]):
            trade["status"] = "TRADE_CLOSED"  # Alipay closes a trade refunded in full
            trade["gmt_close"] = now
        return self._ok(
            method,
            **answer,
            fund_change="Y",
            refund_fee=_money(trade["refunded"]),
            gmt_refund_pay=now,
        )

    def _refund_query(self, biz: dict, params) -> Response:
        method = "alipay.trade.fastpay.refund.query"
        trade = self._find_trade(biz)
        if trade is None:
            return self._refuse(method, "ACQ.TRADE_NOT_EXIST", "交易不存在")
        refund = self.refunds.get((trade["out_trade_no"], biz.get("out_request_no", "")))
        if refund is None:  # documented: an answer without data means no such refund
            return self._ok(method)
        fields = {
            "trade_no": refund["trade_no"],
            "out_trade_no": refund["out_trade_no"],
            "out_request_no": refund["out_request_no"],
            "total_amount": trade["total_amount"],
            "refund_amount": refund["refund_amount"],
            "refund_status": refund["refund_status"],
        }
        if "gmt_refund_pay" in (biz.get("query_options") or []):
            fields["gmt_refund_pay"] = refund["gmt_refund_pay"]
        return self._ok(method, **fields)

    # --- transfers (单笔转账) ------------------------------------------------------------

    def _transfer(self, biz: dict, params) -> Response:
        method = "alipay.fund.trans.uni.transfer"
        out_biz_no = biz.get("out_biz_no", "")
        payee = biz.get("payee_info") or {}
        amount_text = str(biz.get("trans_amount", ""))
        if (
            not out_biz_no
            or biz.get("product_code") != "TRANS_ACCOUNT_NO_PWD"
            or biz.get("biz_scene") != "DIRECT_TRANSFER"
            or not AMOUNT.match(amount_text)
            or payee.get("identity_type") not in ("ALIPAY_LOGON_ID", "ALIPAY_USER_ID")
            or not payee.get("identity")
        ):
            return self._refuse(method, "INVALID_PARAMETER", "参数有误")
        existing = self.transfers.get(out_biz_no)
        if existing is not None:  # one bill number pays once: the same answer again
            return self._ok(method, **self._transfer_answer(existing))
        if payee["identity_type"] == "ALIPAY_LOGON_ID" and not payee.get("name"):
            return self._refuse(method, "PAYEE_NAME_EMPTY", "收款方姓名不能为空")
        amount = Decimal(amount_text)
        if amount < Decimal("0.10"):
            return self._refuse(method, "EXCEED_LIMIT_SM_MIN_AMOUNT", "单笔最低转账金额0.1元")
        if payee["identity"] not in self.accounts:
            return self._refuse(method, "PAYEE_NOT_EXIST", "收款账号不存在")
        if payee.get("name") and self.accounts[payee["identity"]] != payee["name"]:
            return self._refuse(
                method, "PAYEE_USER_INFO_ERROR", "支付宝账号和姓名不匹配，请确认姓名是否正确"
            )
        if amount > self.balance:
            return self._refuse(method, "PAYER_BALANCE_NOT_ENOUGH", "付款方余额不足")
        self.balance -= amount
        transfer = {
            "out_biz_no": out_biz_no,
            "order_id": self._new_trade_no(),
            "pay_fund_order_id": self._new_trade_no(),
            "trans_amount": _money(amount),
            "identity": payee["identity"],
            "name": payee.get("name", ""),
            "order_title": biz.get("order_title", ""),
            "remark": biz.get("remark", ""),
            "status": "SUCCESS",
            "trans_date": self.timestamp(),
            "fail_reason": "",
        }
        self.transfers[out_biz_no] = transfer
        return self._ok(method, **self._transfer_answer(transfer))

    @staticmethod
    def _transfer_answer(transfer: dict) -> dict:
        return {
            "out_biz_no": transfer["out_biz_no"],
            "order_id": transfer["order_id"],
            "pay_fund_order_id": transfer["pay_fund_order_id"],
            "status": transfer["status"],
            "trans_date": transfer["trans_date"],
        }

    def _transfer_query(self, biz: dict, params) -> Response:
        method = "alipay.fund.trans.common.query"
        transfer = self.transfers.get(biz.get("out_biz_no", ""))
        if transfer is None:
            return self._refuse(method, "ORDER_NOT_EXIST", "转账订单不存在")
        fields = {
            "order_id": transfer["order_id"],
            "pay_fund_order_id": transfer["pay_fund_order_id"],
            "out_biz_no": transfer["out_biz_no"],
            "trans_amount": transfer["trans_amount"],
            "status": transfer["status"],
            "pay_date": transfer["trans_date"],
        }
        if transfer["fail_reason"]:
            fields["fail_reason"] = transfer["fail_reason"]
            fields["error_code"] = transfer.get("error_code", "")
        return self._ok(method, **fields)

    # --- bills (对账单) ------------------------------------------------------------------

    def _bill_url(self, biz: dict, params) -> Response:
        method = "alipay.data.dataservice.bill.downloadurl.query"
        if biz.get("bill_type") not in ("trade", "signcustomer"):
            return self._refuse(method, "isp.bill_not_exist", "账单不存在")
        try:
            day = date.fromisoformat(biz.get("bill_date", ""))
        except ValueError:
            return self._refuse(method, "isv.invalid-parameter", "bill_date 格式错误")
        # Simpler than Alipay: today's bill is served too (Alipay: from 9:00 the next day).
        if not self.bill_rows(day):
            return self._refuse(method, "isp.bill_not_exist", "账单不存在")
        compact = day.strftime("%Y%m%d")
        query = urllib.parse.urlencode(
            {
                "bizType": "trade",
                "userId": self.seller_id,
                "fileType": "csv.zip",
                "bizDates": compact,
                "downloadFileName": f"{self.seller_id}_{compact}.csv.zip",
                "fileId": secrets.token_hex(8),
            }
        )
        return self._ok(method, bill_download_url=f"{self.url}/downloadBillFile.resource?{query}")

    def bill_rows(self, day: date) -> list[dict]:
        """The detail rows of `day`: each payment and refund finished that day, then extras."""
        prefix = day.isoformat()
        rows = []
        for trade in self.trades.values():
            if trade["gmt_payment"].startswith(prefix):
                rows.append(
                    {
                        "trade_no": trade["trade_no"],
                        "out_trade_no": trade["out_trade_no"],
                        "kind": "交易",
                        "subject": trade["subject"],
                        "created": trade["gmt_create"],
                        "finished": trade["gmt_payment"],
                        "amount": trade["total_amount"],
                        "request_no": "",
                    }
                )
        for refund in self.refunds.values():
            if refund["gmt_refund_pay"].startswith(prefix):
                trade = self.trades[refund["out_trade_no"]]
                rows.append(
                    {
                        "trade_no": refund["trade_no"],
                        "out_trade_no": refund["out_trade_no"],
                        "kind": "退款",
                        "subject": trade["subject"],
                        "created": trade["gmt_create"],
                        "finished": refund["gmt_refund_pay"],
                        "amount": "-" + refund["refund_amount"],
                        "request_no": refund["out_request_no"],
                    }
                )
        return rows + [row for row in self.extra_bill_lines if row.get("day", day) == day]

    def bill_zip(self, day: date) -> bytes:
        """The trade bill of `day` as Alipay serves it: a zip of two GBK CSV files."""
        compact = day.strftime("%Y%m%d")
        rows = self.bill_rows(day)
        header = [
            "#支付宝业务明细查询",
            f"#账号：[{self.seller_id}]",
            f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{day:%Y年%m月%d日} 23:59:59]",
        ]
        detail = [*header, "#" + "-" * 41 + "业务明细列表" + "-" * 40, ",".join(BILL_COLUMNS)]
        trades = [row for row in rows if row["kind"] == "交易"]
        refunds = [row for row in rows if row["kind"] == "退款"]
        for row in rows:
            amount = _money(row["amount"])
            cells = {
                "支付宝交易号": row["trade_no"] + "\t",
                "商户订单号": row["out_trade_no"] + "\t",
                "业务类型": row["kind"] + "\t",
                "商品名称": row.get("subject", ""),
                "创建时间": row.get("created", row.get("finished", "")),
                "完成时间": row.get("finished", ""),
                "门店编号": "\t",
                "门店名称": "\t",
                "操作员": "\t",
                "终端号": "\t",
                "对方账户": "*三(csq***@sandbox.com)\t",
                "订单金额（元）": amount,
                "商家实收（元）": amount,
                "退款批次号/请求号": row.get("request_no", "") + "\t",
            }
            detail.append(
                ",".join(
                    _csv_cell(cells.get(column, "0.00" if "元" in column else ""))
                    for column in BILL_COLUMNS
                )
            )
        paid = sum((Decimal(r["amount"]) for r in trades), Decimal("0.00"))
        back = sum((Decimal(r["amount"]) for r in refunds), Decimal("0.00"))
        detail += [
            "#" + "-" * 41 + "业务明细列表结束" + "-" * 36,
            f"#交易合计：{len(trades)}笔，商家实收共{paid:.2f}元，商家优惠共0.00元",
            f"#退款合计：{len(refunds)}笔，商家实收退款共{back:.2f}元，商家优惠退款共0.00元",
            f"#导出时间：[{self.now():%Y年%m月%d日 %H:%M:%S}]",
        ]
        net = paid + back
        summary = [
            "#支付宝业务汇总查询",
            *header[1:],
            "#" + "-" * 41 + "业务汇总列表" + "-" * 40,
            ",".join(SUMMARY_COLUMNS),
            ",".join(
                ["合计", "", str(len(trades)), str(len(refunds)), f"{net:.2f}", f"{net:.2f}"]
                + ["0.00"] * 5
                + [f"{net:.2f}"]
            ),
            "#" + "-" * 41 + "业务汇总列表结束" + "-" * 36,
            f"#导出时间：[{self.now():%Y年%m月%d日 %H:%M:%S}]",
        ]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for suffix, lines in (("业务明细(汇总)", summary), ("业务明细", detail)):
                member = _GbkName(f"{self.seller_id}_{compact}_{suffix}.csv")
                member.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(member, ("\r\n".join(lines) + "\r\n").encode("gbk"))
        return buffer.getvalue()

    def _bill_file(self, query: dict[str, str]) -> Response:
        try:
            day = datetime.strptime(query.get("bizDates", ""), "%Y%m%d").date()
        except ValueError:
            return Response("bad bizDates", 400)
        name = query.get("downloadFileName", "bill.csv.zip")
        return Response(
            self.bill_zip(day),
            200,
            {
                "Content-Type": "application/octet-stream",
                "Content-Disposition": f'attachment; filename="{name}"',
            },
        )

    # --- helpers --------------------------------------------------------------------------

    def _deliver(self, url: str, params: dict[str, str]) -> None:
        data = urllib.parse.urlencode(params).encode()
        for delay in self.notify_delays:
            time.sleep(delay)
            request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310
            request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                    status, body = response.status, response.read().decode(errors="replace")
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read().decode(errors="replace")
            except OSError as exc:
                status, body = 0, repr(exc)
            with self._delivery:
                self.notifications_delivered.append((url, status, body))
                self._delivery.notify_all()
            if body == "success":
                return

    def now(self) -> datetime:
        """Alipay's wall time (Asia/Shanghai, naive), or `clock()` when a test sets it."""
        return self.clock() if self.clock else datetime.now(SHANGHAI).replace(tzinfo=None)

    def timestamp(self) -> str:
        """now() as Alipay writes times: yyyy-MM-dd HH:mm:ss."""
        return self.now().strftime(TIME_FORMAT)

    def _is_past(self, text: str) -> bool:
        for pattern in (TIME_FORMAT, "%Y-%m-%d %H:%M"):
            try:
                return datetime.strptime(text, pattern) < self.now()
            except ValueError:
                continue
        return False

    def _new_trade_no(self) -> str:
        return self.now().strftime("%Y%m%d") + "22001" + f"{secrets.randbelow(10**15):015d}"

    def _new_notify_id(self) -> str:
        return self.now().strftime("%Y%m%d") + f"{secrets.randbelow(10**26):026d}"


def _csv_cell(value: str) -> str:
    if any(ch in value for ch in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value
