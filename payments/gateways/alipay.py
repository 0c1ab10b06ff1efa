"""Alipay (支付宝) on python-alipay-sdk: desktop and phone-browser pay, refunds, payouts, bills.

The SDK signs each request RSA2 with the app's private key and checks the
signature of each synchronous answer with Alipay's public key (or, in
certificate mode, the key of Alipay's public certificate); this module adds
what the SDK leaves to its caller:

- every failure of a call (no answer, an HTTP error, a timeout, an answer whose
  signature does not verify) becomes GatewayError, which means "outcome
  unknown, ask again with the same number"; only a documented business refusal
  (code 40004) becomes RefundFailed or a CLOSED transfer, which mean "nothing
  happened";
- a timeout on each call and the bill download (ALIPAY_TIMEOUT; the SDK's is 15 s);
- the wap product code Alipay documents (QUICK_WAP_WAY; the SDK's default,
  QUICK_WAP_PAY, is not one);
- notification verification as Alipay's own SDKs do it (empty values left out),
  with the checks the signature alone does not make (sign type, our app_id,
  the fields we rely on);
- the daily bill: a zip of GBK CSV files, the detail file parsed by column name.
"""

import csv
import http.client
import io
import re
import zipfile
from datetime import date
from decimal import Decimal
from functools import lru_cache

import OpenSSL
import requests
from alipay import AliPay, DCAliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig
from django.conf import settings
from django.utils.translation import gettext as _

from core.devices import in_wechat, is_phone

from .base import (
    ALIPAY_PAGE,
    ALIPAY_WAP,
    CLOSED,
    PENDING,
    SUCCEEDED,
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

SUCCESS = "10000"
BUSINESS_FAILED = "40004"
# trade_status -> our state; TRADE_FINISHED: paid, and past refunds (or not refundable).
TRADE_STATES = {
    "TRADE_SUCCESS": SUCCEEDED,
    "TRADE_FINISHED": SUCCEEDED,
    "WAIT_BUYER_PAY": PENDING,
    "TRADE_CLOSED": CLOSED,  # closed unpaid, or refunded in full
}
# Answers of code 40004 that say "we could not tell what happened": ask again.
UNKNOWN_OUTCOME = {"ACQ.SYSTEM_ERROR", "SYSTEM_ERROR"}
# Alipay writes amounts in yuan with at most two decimals, e.g. "12.30".
AMOUNT = re.compile(r"^\d{1,9}(\.\d{1,2})?$")
TRANSFER_PRODUCT = {"product_code": "TRANS_ACCOUNT_NO_PWD", "biz_scene": "DIRECT_TRANSFER"}
# What can go wrong inside an SDK call: urllib's errors and timeouts are OSError,
# a connection dropped mid-answer is HTTPException, a body that is not JSON is
# ValueError, a JSON body without the expected key is AttributeError in the SDK.
CALL_ERRORS = (
    AliPayException,
    OSError,
    http.client.HTTPException,
    ValueError,
    AttributeError,
)


def client():
    """The SDK client for the present settings (one per process and settings)."""
    return _build_client(
        settings.ALIPAY_APP_ID,
        settings.ALIPAY_APP_PRIVATE_KEY,
        settings.ALIPAY_PUBLIC_KEY,
        settings.ALIPAY_APP_CERT,
        settings.ALIPAY_PUBLIC_CERT,
        settings.ALIPAY_ROOT_CERT,
        settings.ALIPAY_GATEWAY_URL,
        settings.ALIPAY_TIMEOUT,
    )


@lru_cache(maxsize=8)
def _build_client(
    app_id, private_key, public_key, app_cert, public_cert, root_cert, gateway_url, timeout
):
    """Keyed by every setting it reads, so a change of settings (tests) builds a new one;
    loading the keys and computing the certificate serial numbers happens once."""
    try:
        if app_cert and public_cert and root_cert:
            sdk = DCAliPay(
                appid=app_id,
                app_private_key_string=read_key(private_key),
                app_public_key_cert_string=read_key(app_cert),
                alipay_public_key_cert_string=read_key(public_cert),
                alipay_root_cert_string=read_key(root_cert),
            )
            sdk._config = AliPayConfig(timeout=timeout)  # DCAliPay takes no config argument
            sdk.app_cert_sn, sdk.alipay_root_cert_sn  # noqa: B018 - fail now, not mid-payment
        else:
            sdk = AliPay(
                appid=app_id,
                app_private_key_string=read_key(private_key),
                alipay_public_key_string=read_key(public_key),
                sign_type="RSA2",
                config=AliPayConfig(timeout=timeout),
            )
    except (ValueError, TypeError, IndexError, OSError, OpenSSL.crypto.Error) as exc:
        raise GatewayError(f"Alipay keys or certificates cannot be loaded: {exc!r}") from exc
    sdk._gateway = gateway_url  # the SDK knows only the live and the sandbox URL
    return sdk


def _call(method: str, biz_content: dict) -> dict:
    """One server API call; its verified response object, whatever its code."""
    try:
        return client().server_api(method, biz_content)
    except AliPayValidationError as exc:
        raise GatewayError(f"{method}: the answer's signature does not verify") from exc
    except CALL_ERRORS as exc:
        raise GatewayError(f"{method}: {exc!r}") from exc


def _why(answer: dict) -> str:
    return answer.get("sub_msg") or answer.get("msg") or answer.get("sub_code") or "?"


def _is_refusal(answer: dict) -> bool:
    """A documented business refusal: nothing happened, and asking again will not help."""
    return answer.get("code") == BUSINESS_FAILED and answer.get("sub_code") not in UNKNOWN_OUTCOME


def _refund_reference(answer: dict, request_no: str) -> str:
    """Alipay has no id of its own for a refund: ours is its trade number and our number."""
    return f"{answer.get('trade_no', '')}:{request_no}"


def _amount(text: str) -> Decimal:
    if not AMOUNT.match(text or ""):
        raise GatewayError(f"Alipay sent a malformed amount: {text!r}")
    return Decimal(text)


class AlipayGateway(Gateway):
    code = "alipay"
    channels = (ALIPAY_PAGE, ALIPAY_WAP)

    def channels_for(self, request) -> tuple[str, ...]:
        """Phones get the wap cashier first (it opens the Alipay app), computers the QR
        page; none inside WeChat, which blocks Alipay's pages."""
        if in_wechat(request):
            return ()
        return (ALIPAY_WAP, ALIPAY_PAGE) if is_phone(request) else (ALIPAY_PAGE, ALIPAY_WAP)

    # --- paying --------------------------------------------------------------------------

    def start(self, payment, *, request, notify_url: str, return_url: str, openid="") -> Checkout:
        """The signed cashier URL; nothing is sent to Alipay until the browser follows it.

        The trade expires when the order would be cancelled unpaid, so Alipay
        stops taking money for an order we are about to cancel.
        """
        sdk = client()
        expires = unpaid_deadline(payment)
        fields = {
            # Shown on Alipay's cashier and in the shopper's bill: our number, no user data.
            "subject": f"订单 {payment.order.number}",
            "out_trade_no": payment.reference,
            "total_amount": f"{payment.amount:.2f}",
            "notify_url": notify_url,
            "return_url": return_url,
        }
        if payment.channel == ALIPAY_WAP:
            order_string = sdk.api_alipay_trade_wap_pay(
                **fields,
                quit_url=return_url,
                product_code="QUICK_WAP_WAY",
                time_expire=expires.strftime("%Y-%m-%d %H:%M"),  # wap takes minutes
            )
        else:
            order_string = sdk.api_alipay_trade_page_pay(
                **fields, time_expire=expires.strftime("%Y-%m-%d %H:%M:%S")
            )
        return Checkout(redirect_url=f"{settings.ALIPAY_GATEWAY_URL}?{order_string}")

    def parse_notification(self, request) -> Notification:
        """Verify Alipay's async notification (form POST) and read it.

        Signed string: the sorted `key=value` pairs of every non-empty field but
        sign and sign_type, joined with `&` (Alipay's own SDKs leave empty values
        out, the Python SDK would not, so they are removed first). The amount is
        not compared with our payment here: payments.services does that.
        """
        params = request.POST.dict()
        signature = params.get("sign", "")
        if not signature:
            raise InvalidNotification("no sign")
        if params.get("sign_type") != "RSA2":
            raise InvalidNotification(f"sign_type {params.get('sign_type')!r} is not RSA2")
        signed = {k: v for k, v in params.items() if k not in ("sign", "sign_type") and v != ""}
        try:
            valid = client().verify(signed, signature)
        except (ValueError, TypeError, AliPayException) as exc:  # e.g. sign is not base64
            raise InvalidNotification(f"unreadable signature: {exc!r}") from exc
        if not valid:
            raise InvalidNotification("bad signature")
        if params.get("app_id") != settings.ALIPAY_APP_ID:
            raise InvalidNotification(f"app_id {params.get('app_id')!r} is not ours")
        # Alipay's step 5: the money went to our own account (our PID), when we know it.
        if settings.ALIPAY_SELLER_ID and params.get("seller_id") != settings.ALIPAY_SELLER_ID:
            raise InvalidNotification(f"seller_id {params.get('seller_id')!r} is not ours")
        reference, total = params.get("out_trade_no", ""), params.get("total_amount", "")
        if not reference:
            raise InvalidNotification("out_trade_no missing")
        if not AMOUNT.match(total):
            raise InvalidNotification(f"total_amount {total!r} is not an amount")
        # notify_time is deliberately not checked for staleness: Alipay delivers the
        # same notification again over about 25 hours (4m, 10m, 10m, 1h, 2h, 6h, 15h)
        # with its original notify_time, and a late retry may be the only one that
        # reaches us. A replay is stopped by the signature plus the notify_id dedupe
        # in payments.services.handle_notification (and a paid payment moves once).
        return Notification(
            reference=reference,
            trade_no=params.get("trade_no", ""),
            amount=Decimal(total),
            succeeded=TRADE_STATES.get(params.get("trade_status")) == SUCCEEDED,
            payload=params,
            notification_id=params.get("notify_id", ""),
        )

    def query(self, payment) -> TradeStatus:
        """alipay.trade.query. A trade Alipay does not know is PENDING: with page and
        wap pay it exists only once the shopper opened the cashier, and an old
        cashier link can still open it until time_expire."""
        answer = _call("alipay.trade.query", {"out_trade_no": payment.reference})
        reference = payment.reference
        if answer.get("code") != SUCCESS:
            if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return TradeStatus(reference, PENDING, payload=answer)
            raise GatewayError(f"alipay.trade.query: {_why(answer)}")
        state = TRADE_STATES.get(answer.get("trade_status"))
        if state is not None:
            return TradeStatus(
                reference,
                state,
                trade_no=answer.get("trade_no", ""),
                amount=_amount(answer.get("total_amount", "")) if state == SUCCEEDED else None,
                payload=answer,
            )
        raise GatewayError(
            f"alipay.trade.query: unknown trade_status {answer.get('trade_status')!r}"
        )

    def close(self, payment) -> None:
        """alipay.trade.close. A trade Alipay does not know (the cashier was never
        opened) counts as closed; its signed link still works until time_expire,
        and money arriving after the order was cancelled is refunded by the service."""
        answer = _call("alipay.trade.close", {"out_trade_no": payment.reference})
        if answer.get("code") == SUCCESS or answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return
        raise GatewayError(f"alipay.trade.close: {_why(answer)}")

    # --- refunds -------------------------------------------------------------------------

    def refund(
        self, payment, amount: Decimal, reason: str, *, request_no: str, notify_url: str = ""
    ) -> RefundResult:
        """alipay.trade.refund, idempotent by out_request_no at Alipay.

        fund_change "N" on success means no money moved by this call: a repeat of
        a refund already made (then it says so), or one still being processed;
        the refund query tells which. Alipay has no id of its own for a refund,
        so the reference is trade_no:request_no.
        """
        biz = {
            "out_trade_no": payment.reference,
            "refund_amount": f"{amount:.2f}",
            "out_request_no": request_no,
        }
        if reason:
            biz["refund_reason"] = reason[:256]
        answer = _call("alipay.trade.refund", biz)
        if answer.get("code") != SUCCESS:
            if _is_refusal(answer):
                raise RefundFailed(_why(answer))
            raise GatewayError(f"alipay.trade.refund: {_why(answer)}")
        reference = _refund_reference(answer, request_no)
        if answer.get("fund_change") == "Y":
            return RefundResult(request_no, SUCCEEDED, reference, amount=amount, payload=answer)
        found = self._query_refund(payment.reference, request_no)
        state = SUCCEEDED if found.state == SUCCEEDED else PENDING
        return RefundResult(request_no, state, reference, amount=amount, payload=answer)

    def query_refund(self, refund) -> RefundResult:
        return self._query_refund(refund.payment.reference, refund.request_no)

    def _query_refund(self, reference: str, request_no: str) -> RefundResult:
        """alipay.trade.fastpay.refund.query: an answer without the refund's data means
        Alipay has no refund of that number (never received, or it failed)."""
        answer = _call(
            "alipay.trade.fastpay.refund.query",
            {
                "out_trade_no": reference,
                "out_request_no": request_no,
                "query_options": ["gmt_refund_pay"],
            },
        )
        if answer.get("code") != SUCCESS:
            if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return RefundResult(
                    request_no, CLOSED, reason=_("Alipay knows no such trade."), payload=answer
                )
            raise GatewayError(f"alipay.trade.fastpay.refund.query: {_why(answer)}")
        if not answer.get("out_request_no") and not answer.get("refund_amount"):
            return RefundResult(
                request_no,
                CLOSED,
                reason=_("Alipay has no refund with this number."),
                payload=answer,
            )
        amount = _amount(answer["refund_amount"]) if answer.get("refund_amount") else None
        # A refund found without a status was made at once (Alipay's synchronous refunds).
        done = answer.get("refund_status", "") in ("", "REFUND_SUCCESS")
        return RefundResult(
            request_no,
            SUCCEEDED if done else PENDING,
            _refund_reference(answer, request_no),
            amount=amount,
            payload=answer,
        )

    # --- payouts (单笔转账到支付宝账户) --------------------------------------------------

    def transfer(self, transfer: TransferRequest) -> TransferResult:
        """alipay.fund.trans.uni.transfer to the payee's Alipay login id, checked against
        the real name. Alipay pays one out_biz_no once, so asking again after an
        unknown outcome (GatewayError) with the same bill number is safe.

        A business refusal (payee unknown, name mismatch, our balance too low) is
        CLOSED with Alipay's reason: nothing was paid. Alipay documents this call
        for certificate mode (DCAliPay) only; the public-key client sends it too.
        """
        title = transfer.remark or transfer.bill_no
        biz = {
            "out_biz_no": transfer.bill_no,
            "trans_amount": f"{transfer.amount:.2f}",
            **TRANSFER_PRODUCT,
            "order_title": title[:64],
            "payee_info": {
                "identity": transfer.account,
                "identity_type": "ALIPAY_LOGON_ID",
                "name": transfer.name,
            },
        }
        if transfer.remark:
            biz["remark"] = transfer.remark[:200]
        answer = _call("alipay.fund.trans.uni.transfer", biz)
        if answer.get("code") == SUCCESS:
            return self._transfer_result(transfer.bill_no, answer)
        if not _is_refusal(answer):
            raise GatewayError(f"alipay.fund.trans.uni.transfer: {_why(answer)}")
        # Refused: closed only if Alipay holds no transfer under this number, so a
        # refused repeat of a bill it already paid is never taken for "not paid".
        existing = self.query_transfer(transfer.bill_no)
        if existing.payload.get("sub_code") != "ORDER_NOT_EXIST":
            return existing
        return TransferResult(transfer.bill_no, CLOSED, reason=_why(answer), payload=answer)

    def query_transfer(self, bill_no: str) -> TransferResult:
        """alipay.fund.trans.common.query.

        ORDER_NOT_EXIST is CLOSED ("never received"): it is then safe to give the
        money back to the payee's balance only because the caller retires this
        bill number: a later transfer with the same number would be a new
        payment. Ask only some minutes after the last attempt, so a request still
        in flight cannot land after the answer.
        """
        answer = _call(
            "alipay.fund.trans.common.query", {"out_biz_no": bill_no, **TRANSFER_PRODUCT}
        )
        if answer.get("code") == SUCCESS:
            return self._transfer_result(bill_no, answer)
        if answer.get("sub_code") == "ORDER_NOT_EXIST":
            return TransferResult(
                bill_no, CLOSED, reason=_("Alipay never received this transfer."), payload=answer
            )
        raise GatewayError(f"alipay.fund.trans.common.query: {_why(answer)}")

    @staticmethod
    def _transfer_result(bill_no: str, answer: dict) -> TransferResult:
        status = answer.get("status", "")
        reference = answer.get("order_id", "")
        if status == "SUCCESS":
            return TransferResult(bill_no, SUCCEEDED, reference, payload=answer)
        if status in ("FAIL", "CLOSED", "REFUND"):  # REFUND: the bank sent it back
            why = answer.get("fail_reason") or answer.get("error_code") or status
            return TransferResult(bill_no, CLOSED, reference, reason=why, payload=answer)
        return TransferResult(bill_no, PENDING, reference, payload=answer)  # DEALING, WAIT_PAY

    # --- the daily bill (对账单) --------------------------------------------------------

    def bill(self, day: date) -> list[BillLine]:
        """The trade bill of `day`: alipay.data.dataservice.bill.downloadurl.query, then
        the zip it points to. No bill (isp.bill_not_exist) is an empty day."""
        answer = _call(
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "trade", "bill_date": day.isoformat()},
        )
        if answer.get("code") != SUCCESS:
            if answer.get("sub_code") == "isp.bill_not_exist":
                return []
            raise GatewayError(f"bill of {day}: {_why(answer)}")
        url = answer.get("bill_download_url", "")
        if not url:
            raise GatewayError(f"bill of {day}: no bill_download_url")
        try:
            response = requests.get(url, timeout=settings.ALIPAY_TIMEOUT)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise GatewayError(f"bill of {day}: {exc!r}") from exc
        return parse_bill(response.content)


# --- the bill file -------------------------------------------------------------------------


def parse_bill(content: bytes) -> list[BillLine]:
    """The payments (交易) and refunds (退款) of an Alipay trade bill zip.

    The zip holds a detail file (…_业务明细.csv) and a summary (…_业务明细(汇总).csv),
    both GBK, names GBK too. The detail file has '#' comment lines, a header
    row, then one row per payment or refund, values padded with a tab so Excel
    keeps the long numbers; a refund row's amounts are negative.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise GatewayError(f"the bill is not a zip: {exc}") from exc
    with archive:
        for info in archive.infolist():
            name = _member_name(info)
            if "业务明细" in name and "汇总" not in name:
                text = archive.read(info).decode("gb18030")
                return parse_bill_detail(text)
    raise GatewayError("the bill zip has no detail file (业务明细)")


def _member_name(info: zipfile.ZipInfo) -> str:
    """Without the UTF-8 flag zipfile reads names as cp437; Alipay writes GBK."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def parse_bill_detail(text: str) -> list[BillLine]:
    """The rows of a 业务明细 CSV, found by column name (Alipay adds columns over time)."""
    lines = [
        line
        for line in text.lstrip("\ufeff").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    rows = csv.reader(lines)
    header = next(rows, None)
    if header is None:
        return []
    names = [cell.strip() for cell in header]

    def column(prefix: str) -> int:
        for index, name in enumerate(names):
            if name.startswith(prefix):
                return index
        raise GatewayError(f"the bill has no column {prefix}")

    trade_no, reference, kind = column("支付宝交易号"), column("商户订单号"), column("业务类型")
    amount, finished, request_no = column("订单金额"), column("完成时间"), column("退款批次号")
    result = []
    for row in rows:
        cells = [cell.strip() for cell in row]
        if len(cells) < len(names):
            raise GatewayError(f"the bill has a short row: {row!r}")
        kind_of_row = cells[kind]
        if kind_of_row not in ("交易", "退款"):
            continue
        try:
            value = abs(Decimal(cells[amount]))
        except ArithmeticError as exc:
            raise GatewayError(f"the bill has a malformed amount: {cells[amount]!r}") from exc
        refund = kind_of_row == "退款"
        result.append(
            BillLine(
                kind="refund" if refund else "payment",
                reference=(cells[request_no] or cells[reference]) if refund else cells[reference],
                gateway_reference=cells[trade_no],
                amount=value,
                at=bill_time(cells[finished]),
            )
        )
    return result
