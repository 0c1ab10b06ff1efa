"""WechatPayGateway against FakeWechatPay: real HTTP on loopback, real signatures,
real AEAD_AES_256_GCM, nothing of ours patched."""

import base64
import dataclasses
import json
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import requests
from django.test import RequestFactory
from django.urls import reverse
from wechatpayv3 import utils as sdk_utils

from orders.models import Order
from payments import services
from payments.gateways import GatewayError, RefundFailed, get_gateway
from payments.gateways.base import (
    CLOSED,
    PENDING,
    SUCCEEDED,
    WAITING_CONFIRMATION,
    InvalidNotification,
    TransferRequest,
)
from payments.gateways.wechat import WechatPayGateway, parse_trade_bill
from payments.models import Payment, PaymentNotification, Refund
from tests.fakes.server import FakeServer, Response
from tests.fakes.wechatpay import (
    aead_encrypt,
    django_headers,
    jsapi_message,
    request_message,
    response_message,
    rsa_verify,
)

pytestmark = pytest.mark.django_db

NOTIFY = reverse("payments:notify", args=["wechat"])
SHANGHAI = ZoneInfo("Asia/Shanghai")
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"
MCHID = "1900000109"  # as tests.payments.wechatpay_fixtures configures them
APPID = "wxd678efh567hg6787"
IN_WECHAT = PHONE + " MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN"


def wechat_payment(order, channel: str = "native") -> Payment:
    """The payment the service makes to pay `order` through WeChat Pay this way."""
    return services.start_payment(order, gateway_code="wechat", channel=channel)


def browser(agent: str = DESKTOP):
    return RequestFactory().get("/pay/", HTTP_USER_AGENT=agent, REMOTE_ADDR="203.0.113.7")


def started(payment, agent: str = DESKTOP, openid: str = ""):
    return WechatPayGateway().start(
        payment,
        request=browser(agent),
        notify_url="https://shop.example.com" + NOTIFY,
        return_url="https://shop.example.com/orders/1/",
        openid=openid,
    )


def paid_payment(fake, order) -> Payment:
    """A payment the fake holds as paid (the shopper scanned and paid)."""
    payment = wechat_payment(order)
    started(payment)
    fake.pay(payment.reference, deliver=False)
    return payment


def as_request(headers: dict, body: str):
    return RequestFactory().post(
        NOTIFY, data=body, content_type="application/json", **django_headers(headers)
    )


def fen(payment) -> int:
    return int(payment.amount * 100)


# --- starting a payment ------------------------------------------------------------


def test_native_gives_a_weixin_code_url_to_draw_as_a_qr_code(fake_wechatpay, order):
    payment = wechat_payment(order, "native")
    checkout = started(payment)
    assert checkout.qr_code.startswith("weixin://wxpay/bizpayurl?pr=")
    trade = fake_wechatpay.trades[payment.reference]
    assert trade["total"] == fen(payment) == 11000
    assert trade["request"]["description"] == f"订单 {order.number}"
    # the trade expires when the order would be cancelled unpaid (30 minutes after it)
    deadline = (order.created_at + timedelta(minutes=30)).astimezone(SHANGHAI)
    assert trade["request"]["time_expire"] == deadline.isoformat(timespec="seconds")


def test_a_phone_scanning_the_code_pays_the_trade(fake_wechatpay, order):
    payment = wechat_payment(order, "native")
    checkout = started(payment)
    fake_wechatpay.delivery_delays = ()  # nobody listens at shop.example.com
    answer = requests.post(
        fake_wechatpay.url + "/fake/scan", json={"code_url": checkout.qr_code}, timeout=5
    )
    assert answer.json()["result"] == "SUCCESS"
    assert WechatPayGateway().query(payment).state == SUCCEEDED


def test_h5_sends_the_shopper_to_wechat_and_back_to_our_return_url(fake_wechatpay, order):
    payment = wechat_payment(order, "h5")
    checkout = started(payment, PHONE)
    assert checkout.redirect_url.startswith(fake_wechatpay.url + "/fake/h5?prepay_id=")
    assert checkout.redirect_url.endswith(
        "&redirect_url=https%3A%2F%2Fshop.example.com%2Forders%2F1%2F"
    )
    scene = fake_wechatpay.trades[payment.reference]["request"]["scene_info"]
    assert scene == {"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}}
    page = requests.get(checkout.redirect_url, timeout=5)
    assert "Fake WeChat Pay" in page.text and 'id="fake-wechat-pay"' in page.text


def test_the_h5_page_pays_and_returns_to_the_shop(fake_wechatpay, order):
    payment = wechat_payment(order, "h5")
    checkout = started(payment, PHONE)
    fake_wechatpay.delivery_delays = ()
    prepay_id = fake_wechatpay.trades[payment.reference]["prepay_id"]
    answer = requests.post(
        fake_wechatpay.url + "/fake/h5/pay",
        data={"prepay_id": prepay_id, "redirect_url": "https://shop.example.com/orders/1/"},
        allow_redirects=False,
        timeout=5,
    )
    assert (answer.status_code, answer.headers["Location"]) == (
        302,
        "https://shop.example.com/orders/1/",
    )
    assert checkout.redirect_url and fake_wechatpay.trades[payment.reference]["state"] == "SUCCESS"


def test_jsapi_gives_bridge_parameters_whose_pay_sign_wechat_accepts(fake_wechatpay, order):
    payment = wechat_payment(order, "jsapi")
    checkout = started(payment, IN_WECHAT, openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    params = checkout.jsapi
    assert params["appId"] == APPID and params["signType"] == "RSA"
    assert params["package"] == "prepay_id=" + fake_wechatpay.trades[payment.reference]["prepay_id"]
    assert fake_wechatpay.trades[payment.reference]["openid"] == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    fake_wechatpay.delivery_delays = ()
    answer = requests.post(
        fake_wechatpay.url + "/fake/jsapi-pay",
        data=json.dumps(params),
        headers={"Content-Type": "text/plain"},
        timeout=5,
    )
    assert answer.json() == {"err_msg": "get_brand_wcpay_request:ok"}
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_a_tampered_pay_sign_is_refused_by_wechat(fake_wechatpay, order):
    payment = wechat_payment(order, "jsapi")
    params = dict(
        started(payment, IN_WECHAT, openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").jsapi,
        timeStamp=str(int(time.time()) + 1),
    )
    answer = requests.post(fake_wechatpay.url + "/fake/jsapi-pay", json=params, timeout=5)
    assert answer.json() == {"err_msg": "get_brand_wcpay_request:fail"}
    assert fake_wechatpay.trades[payment.reference]["state"] == "NOTPAY"


def test_the_bridge_script_posts_to_the_fake(fake_wechatpay):
    script = requests.get(fake_wechatpay.url + "/fake/jsbridge.js", timeout=5).text
    assert "WeixinJSBridge" in script and json.dumps(fake_wechatpay.url) in script


def test_jsapi_without_the_payers_openid_says_so(fake_wechatpay, order):
    payment = wechat_payment(order, "jsapi")
    with pytest.raises(GatewayError, match="openid"):
        started(payment, IN_WECHAT)
    assert payment.reference not in fake_wechatpay.trades


def test_starting_the_same_trade_again_answers_the_same_code(fake_wechatpay, order):
    payment = wechat_payment(order, "native")
    assert started(payment).qr_code == started(payment).qr_code
    assert len(fake_wechatpay.trades) == 1


def test_starting_a_paid_trade_again_is_refused_with_wechats_reason(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    with pytest.raises(GatewayError, match="ORDERPAID"):
        started(payment)


@pytest.mark.parametrize(
    ("agent", "channels"),
    [
        (DESKTOP, ("native",)),
        (PHONE, ("h5", "native")),
        (IN_WECHAT, ("jsapi",)),
        ("", ("native",)),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36", ("h5", "native")),
    ],
)
def test_the_cashier_offers_the_ways_to_pay_that_fit_the_device(agent, channels):
    assert WechatPayGateway().channels_for(browser(agent)) == channels


# --- payment notifications ---------------------------------------------------------


def test_a_signed_notification_marks_the_order_paid(client, fake_wechatpay, order):
    payment = wechat_payment(order)
    started(payment)
    headers, body = fake_wechatpay.pay(payment.reference, deliver=False)
    response = client.post(
        NOTIFY, data=body, content_type="application/json", **django_headers(headers)
    )
    assert (response.status_code, response.content) == (200, b"")
    payment.refresh_from_db()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert payment.gateway_trade_no == fake_wechatpay.trades[payment.reference]["transaction_id"]


def test_a_notification_delivered_twice_pays_once(client, fake_wechatpay, order):
    payment = wechat_payment(order)
    started(payment)
    headers, body = fake_wechatpay.pay(payment.reference, deliver=False)
    for _ in range(2):
        response = client.post(
            NOTIFY, data=body, content_type="application/json", **django_headers(headers)
        )
        assert response.status_code == 200
    assert order.events.filter(to_status="paid").count() == 1


def test_the_parsed_notification_carries_wechats_ids(fake_wechatpay, order):
    payment = wechat_payment(order)
    started(payment)
    headers, body = fake_wechatpay.pay(payment.reference, deliver=False)
    notification = WechatPayGateway().parse_notification(as_request(headers, body))
    assert notification.reference == payment.reference
    assert notification.amount == Decimal("110.00") == payment.amount
    assert notification.notification_id == json.loads(body)["id"]
    assert notification.payload["event_type"] == "TRANSACTION.SUCCESS"
    assert notification.succeeded


def without(headers: dict, name: str) -> dict:
    return {key: value for key, value in headers.items() if key != name}


BAD_NOTIFICATIONS = {
    "forged signature": lambda fake, p, keys: fake.notification(
        p.reference, signing_key=keys.other_private_key
    ),
    "missing signature header": lambda fake, p, keys: (
        without(fake.notification(p.reference)[0], "Wechatpay-Signature"),
        fake.notification(p.reference)[1],
    ),
    "stale timestamp": lambda fake, p, keys: fake.notification(
        p.reference, timestamp=str(int(time.time()) - 301)
    ),
    "wrong mchid": lambda fake, p, keys: fake.notification(p.reference, mchid="1900000000"),
    "wrong appid": lambda fake, p, keys: fake.notification(p.reference, appid="wx0000000000000000"),
    "amount one fen off": lambda fake, p, keys: fake.notification(p.reference, amount=fen(p) - 1),
    "wrong APIv3 key": lambda fake, p, keys: fake.notification(p.reference, apiv3_key="0" * 32),
    "unknown out_trade_no": lambda fake, p, keys: fake.notification(
        "PNOSUCHPAYMENT00000000000", amount=fen(p)
    ),
    "WeChat's signature probe": lambda fake, p, keys: (
        {
            **fake.notification(p.reference)[0],
            "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + base64.b64encode(b"x" * 256).decode(),
        },
        fake.notification(p.reference)[1],
    ),
    "unknown key id": lambda fake, p, keys: fake.notification(
        p.reference, serial="PUB_KEY_ID_0000000000000000000000000000"
    ),
    "refund event on the payment url": lambda fake, p, keys: fake.notification(
        p.reference, event_type="REFUND.SUCCESS"
    ),
}


@pytest.mark.parametrize("case", list(BAD_NOTIFICATIONS))
def test_a_bad_notification_is_refused_and_changes_nothing(
    case, client, fake_wechatpay, wechatpay_keys, order
):
    payment = wechat_payment(order)
    started(payment)
    headers, body = BAD_NOTIFICATIONS[case](fake_wechatpay, payment, wechatpay_keys)
    response = client.post(
        NOTIFY, data=body, content_type="application/json", **django_headers(headers)
    )
    assert response.status_code == 400
    assert response.json() == {"code": "FAIL", "message": "失败"}
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert order.status == Order.Status.PENDING_PAYMENT
    assert not PaymentNotification.objects.filter(payment=payment, outcome="paid").exists()


class Receiver(FakeServer):
    """Our notify URL, answering 500 a few times first (a deploy in progress)."""

    def __init__(self, failures: int):
        super().__init__()
        self.failures = failures

    def handle(self, request):
        if self.failures:
            self.failures -= 1
            return Response(b"busy", 500)
        return Response(b"", 204)


def test_wechat_delivers_again_until_answered_and_the_delivery_verifies(fake_wechatpay, order):
    payment = wechat_payment(order)
    with Receiver(failures=2) as receiver:
        WechatPayGateway().start(
            payment, request=browser(), notify_url=receiver.url + NOTIFY, return_url=""
        )
        fake_wechatpay.delivery_delays = (0, 0.05, 0.05, 0.05)
        fake_wechatpay.pay(payment.reference)
        (delivery,) = fake_wechatpay.wait_for_deliveries()
        assert delivery["statuses"] == [500, 500, 204] and delivery["delivered"]
        last = receiver.requests[-1]
    headers = {name.title(): value for name, value in last.headers.items()}
    notification = WechatPayGateway().parse_notification(as_request(headers, last.body.decode()))
    assert notification.reference == payment.reference


# --- query and close ---------------------------------------------------------------


def test_a_trade_not_paid_yet_is_pending(fake_wechatpay, order):
    payment = wechat_payment(order)
    started(payment)
    assert WechatPayGateway().query(payment).state == PENDING


def test_a_trade_never_placed_is_pending(fake_wechatpay, order):
    assert WechatPayGateway().query(wechat_payment(order)).state == PENDING


def test_a_paid_trade_is_succeeded_with_wechats_number_and_amount(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    status = WechatPayGateway().query(payment)
    assert status.state == SUCCEEDED and status.amount == Decimal("110.00")
    assert status.trade_no == fake_wechatpay.trades[payment.reference]["transaction_id"]


def test_a_closed_trade_is_closed_and_closing_again_is_fine(fake_wechatpay, order):
    payment = wechat_payment(order)
    started(payment)
    gateway = WechatPayGateway()
    gateway.close(payment)
    gateway.close(payment)
    assert gateway.query(payment).state == CLOSED
    assert fake_wechatpay.trades[payment.reference]["state"] == "CLOSED"


def test_closing_a_trade_never_placed_is_fine(fake_wechatpay, order):
    WechatPayGateway().close(wechat_payment(order))


def test_closing_a_paid_trade_is_refused(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    with pytest.raises(GatewayError, match="ORDERPAID"):
        WechatPayGateway().close(payment)


def test_a_refunded_trade_was_paid(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    fake_wechatpay.refund_status = "SUCCESS"
    WechatPayGateway().refund(payment, Decimal("10.00"), "", request_no="R1")
    assert WechatPayGateway().query(payment).state == SUCCEEDED


# --- refunds -----------------------------------------------------------------------


def test_a_refund_processing_is_settled_by_its_notification(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    gateway = WechatPayGateway()
    result = gateway.refund(
        payment,
        Decimal("30.00"),
        "破损",
        request_no=f"{payment.reference}-R01",
        notify_url="https://shop.example.com/refund-notify/",
    )
    assert (result.state, result.amount) == (PENDING, Decimal("30.00"))
    refund = fake_wechatpay.refunds[f"{payment.reference}-R01"]
    assert (refund["refund"], refund["total"], refund["reason"]) == (3000, 11000, "破损")
    assert refund["notify_url"] == "https://shop.example.com/refund-notify/"
    fake_wechatpay.delivery_delays = ()  # nobody listens at shop.example.com
    headers, body = fake_wechatpay.finish_refund(f"{payment.reference}-R01")
    settled = gateway.parse_refund_notification(as_request(headers, body))
    assert settled.request_no == f"{payment.reference}-R01"
    assert (settled.state, settled.amount) == (SUCCEEDED, Decimal("30.00"))
    assert settled.gateway_reference == result.gateway_reference


def test_a_refund_notification_for_another_merchant_is_refused(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    WechatPayGateway().refund(payment, Decimal("1.00"), "", request_no="R1")
    headers, body = fake_wechatpay.finish_refund("R1")
    resource_mchid = json.loads(body)
    assert resource_mchid["event_type"] == "REFUND.SUCCESS"
    forged_headers, forged_body = fake_wechatpay.event(
        "REFUND.SUCCESS",
        "退款成功",
        "refund",
        {"mchid": "1900000000", "out_refund_no": "R1", "refund_status": "SUCCESS"},
        associated_data="refund",
    )
    with pytest.raises(InvalidNotification, match="mchid"):
        WechatPayGateway().parse_refund_notification(as_request(forged_headers, forged_body))


def test_an_abnormal_refund_stays_pending_with_a_reason_for_finance(fake_wechatpay, order):
    # ABNORMAL is resolved in the merchant platform and then ends SUCCESS: not final
    payment = paid_payment(fake_wechatpay, order)
    WechatPayGateway().refund(payment, Decimal("1.00"), "", request_no="R1")
    headers, body = fake_wechatpay.finish_refund("R1", status="ABNORMAL")
    result = WechatPayGateway().parse_refund_notification(as_request(headers, body))
    assert result.state == PENDING and "ABNORMAL" in result.reason


def test_a_refund_wechat_finishes_at_once_is_succeeded(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    fake_wechatpay.refund_status = "SUCCESS"
    result = WechatPayGateway().refund(payment, payment.amount, "", request_no="R1")
    assert (result.state, result.amount) == (SUCCEEDED, Decimal("110.00"))


def test_a_repeated_refund_number_refunds_once(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    gateway = WechatPayGateway()
    first = gateway.refund(payment, Decimal("50.00"), "", request_no="R1")
    again = gateway.refund(payment, Decimal("50.00"), "", request_no="R1")
    assert again.gateway_reference == first.gateway_reference
    assert len(fake_wechatpay.refunds) == 1


def test_a_refund_retried_after_a_lost_answer_refunds_once(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    fake_wechatpay.lose_next_answer("POST", "/v3/refund/domestic/refunds")
    gateway = WechatPayGateway()
    with pytest.raises(GatewayError, match="same number"):
        gateway.refund(payment, Decimal("50.00"), "", request_no="R1")
    assert gateway.refund(payment, Decimal("50.00"), "", request_no="R1").state == PENDING
    assert len(fake_wechatpay.refunds) == 1


def test_a_refund_over_what_is_left_is_refused(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    gateway = WechatPayGateway()
    gateway.refund(payment, Decimal("100.00"), "", request_no="R1")
    with pytest.raises(RefundFailed, match="INVALID_REQUEST"):
        gateway.refund(payment, Decimal("10.01"), "", request_no="R2")
    assert "R2" not in fake_wechatpay.refunds


def test_a_refund_the_merchant_cannot_fund_is_refused(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    fake_wechatpay.fail_next(
        "POST", "/v3/refund/domestic/refunds", status=403, code="NOT_ENOUGH", message="余额不足"
    )
    with pytest.raises(RefundFailed, match="NOT_ENOUGH: 余额不足"):
        WechatPayGateway().refund(payment, Decimal("10.00"), "", request_no="R1")


def test_a_refund_query_says_what_became_of_it(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    gateway = WechatPayGateway()
    gateway.refund(payment, Decimal("20.00"), "", request_no="R1")
    refund = Refund.objects.create(
        payment=payment, amount=Decimal("20.00"), request_no="R1", status="processing"
    )
    assert gateway.query_refund(refund).state == PENDING
    fake_wechatpay.finish_refund("R1")
    result = gateway.query_refund(refund)
    assert (result.state, result.amount) == (SUCCEEDED, Decimal("20.00"))


def test_the_refund_service_refunds_through_wechat(fake_wechatpay, order, admin_user):
    payment = paid_payment(fake_wechatpay, order)
    payment.status = Payment.Status.SUCCEEDED
    payment.save(update_fields=["status"])
    fake_wechatpay.refund_status = "SUCCESS"
    services.refund_payment(payment, Decimal("10.00"), reason="test", actor=admin_user)
    (refund,) = fake_wechatpay.refunds.values()
    assert refund["refund"] == 1000 and refund["out_trade_no"] == payment.reference


# --- transfers (商家转账) -------------------------------------------------------------


def transfer(amount="88.00", bill_no="W0001", name="张三"):
    return TransferRequest(
        bill_no=bill_no,
        amount=Decimal(amount),
        account="o-MYE42l80oelYMDE34nYD456Xoy",
        name=name,
        remark="佣金提现",
    )


def test_a_transfer_waits_for_the_payee_then_succeeds(fake_wechatpay):
    gateway = WechatPayGateway()
    result = gateway.transfer(
        dataclasses.replace(transfer(), notify_url="https://shop.example.com/n/")
    )
    bill = fake_wechatpay.bills["W0001"]
    assert result.state == WAITING_CONFIRMATION
    assert result.confirmation == bill["package_info"]
    assert result.gateway_reference == bill["transfer_bill_no"]
    assert (bill["transfer_amount"], bill["transfer_scene_id"], bill["user_name"]) == (
        8800,
        "1005",
        "",
    )
    assert bill["report_infos"] == [
        {"info_type": "岗位类型", "info_content": "分销员"},
        {"info_type": "报酬说明", "info_content": "分销佣金"},
    ]
    fake_wechatpay.delivery_delays = ()
    headers, body = fake_wechatpay.confirm_transfer("W0001")
    notified = gateway.parse_transfer_notification(as_request(headers, body))
    assert (notified.bill_no, notified.state) == ("W0001", SUCCEEDED)
    assert gateway.query_transfer("W0001").state == SUCCEEDED


def test_a_transfer_without_notify_url_sends_no_null(fake_wechatpay):
    WechatPayGateway().transfer(transfer())
    assert "notify_url" not in json.loads(fake_wechatpay.requests[-1].body)


def test_a_transfer_retried_after_a_lost_answer_pays_once(fake_wechatpay):
    fake_wechatpay.lose_next_answer("POST", "/v3/fund-app/mch-transfer/transfer-bills")
    gateway = WechatPayGateway()
    with pytest.raises(GatewayError, match="same number"):
        gateway.transfer(transfer())
    retried = gateway.transfer(transfer())
    assert retried.state == WAITING_CONFIRMATION
    assert list(fake_wechatpay.bills) == ["W0001"]
    assert retried.gateway_reference == fake_wechatpay.bills["W0001"]["transfer_bill_no"]


def test_a_failed_transfer_is_closed_with_wechats_reason(fake_wechatpay):
    gateway = WechatPayGateway()
    gateway.transfer(transfer())
    fake_wechatpay.fail_transfer("W0001", "收款用户实名信息校验不通过")
    result = gateway.query_transfer("W0001")
    assert (result.state, result.reason) == (CLOSED, "收款用户实名信息校验不通过")


def test_a_refused_transfer_is_closed_with_the_message(fake_wechatpay):
    fake_wechatpay.fail_next(
        "POST",
        "/v3/fund-app/mch-transfer/transfer-bills",
        status=403,
        code="NOT_ENOUGH",
        message="商户运营账户资金不足",
    )
    result = WechatPayGateway().transfer(transfer())
    assert (result.state, result.reason) == (CLOSED, "NOT_ENOUGH: 商户运营账户资金不足")


def test_a_transfer_unknown_to_wechat_is_closed(fake_wechatpay):
    assert WechatPayGateway().query_transfer("W404").state == CLOSED


def test_a_transfer_from_2000_yuan_carries_the_encrypted_name(fake_wechatpay):
    WechatPayGateway().transfer(transfer(amount="2000.00"))
    bill = fake_wechatpay.bills["W0001"]
    assert bill["user_name"] == "张三"
    assert json.loads(fake_wechatpay.requests[-1].body)["user_name"] != "张三"


def test_a_transfer_notification_for_another_merchant_is_refused(fake_wechatpay):
    headers, body = fake_wechatpay.event(
        "MCHTRANSFER.BILL.FINISHED",
        "商家转账单据终态通知",
        "mch_payment",
        {"mch_id": "1900000000", "out_bill_no": "W0001", "state": "SUCCESS"},
        associated_data="mch_payment",
    )
    with pytest.raises(InvalidNotification, match="mch_id"):
        WechatPayGateway().parse_transfer_notification(as_request(headers, body))


# --- the bill ----------------------------------------------------------------------


def test_the_bill_lists_the_days_payments_and_refunds(fake_wechatpay, order, make_variant):
    payment = paid_payment(fake_wechatpay, order)
    fake_wechatpay.refund_status = "SUCCESS"
    WechatPayGateway().refund(payment, Decimal("12.34"), "", request_no="R1")
    today = datetime.now(SHANGHAI).date()
    lines = WechatPayGateway().bill(today)
    trade = fake_wechatpay.trades[payment.reference]
    assert [(line.kind, line.reference, line.gateway_reference, line.amount) for line in lines] == [
        ("payment", payment.reference, trade["transaction_id"], Decimal("110.00")),
        ("refund", "R1", fake_wechatpay.refunds["R1"]["refund_id"], Decimal("12.34")),
    ]
    assert lines[0].at.date() == today


def test_a_day_without_trades_has_an_empty_bill(fake_wechatpay):
    assert WechatPayGateway().bill(datetime(2020, 1, 1).date()) == []


def test_a_bill_whose_file_does_not_match_its_hash_is_refused(fake_wechatpay, order):
    paid_payment(fake_wechatpay, order)
    fake_wechatpay.bill_hash_override = "0" * 40
    with pytest.raises(GatewayError, match="SHA1"):
        WechatPayGateway().bill(datetime.now(SHANGHAI).date())


def test_a_bill_line_a_test_adds_is_read(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    today = datetime.now(SHANGHAI).date()
    text = fake_wechatpay.bill_csv(today)
    extra = fake_wechatpay.bill_row(
        ["2024-05-01 10:00:00", APPID, MCHID, "0", "", "4200000000202405010000000001",
         "PMISSINGHERE", "oX", "NATIVE", "SUCCESS", "OTHERS", "CNY", "9.90", "0.00", "0", "0",
         "0.00", "0.00", "", "", "商品, 带逗号", "", "0.05940", "0.60%", "9.90", "0.00", ""]
    )  # fmt: skip
    header, *rest = text.splitlines()
    fake_wechatpay.bill_overrides[today] = "\n".join([header, extra, *rest])
    lines = WechatPayGateway().bill(today)
    assert [(line.reference, line.amount) for line in lines] == [
        ("PMISSINGHERE", Decimal("9.90")),
        (payment.reference, Decimal("110.00")),
    ]


# Three lines of tests/fixtures/bill.ALL.csv in WeChat Pay's own PHP SDK
# (wechatpay-apiv3/wechatpay-php), a sample of the real 交易账单 (bill_type=ALL):
# a Native payment, a JSAPI refund, and the summary that ends every bill.
OFFICIAL_BILL_SAMPLE = """\
交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注
`2019-02-19 01:52:32,`wxab8acd895ab1638a,`1921000401,`0,`,`4200000263201902167700134902,`autotest_20190219015232_89201,`wxab8acb865bb1637e,`NATIVE,`SUCCESS,`OTHERS,`CNY,`0.03,`0.00,`0,`0,`0.00,`0.00,`,`,`autotest,`,`0.01000,`39.00%,`0.03,`0.00,`
`2019-02-19 05:01:46,`wxab8acd895ab1638a,`1921000401,`0,`harryma007,`4200000263201902167700134212,`autotest_20190216081946_82335,`oHkLxtx0vUqe-18p_AXTZ1innxkCY,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50000709672019011908420787722,`REF4200000263201902167700963919,`0.01,`0.00,`ORIGINAL,`SUCCESS,`系统拨测-cheeryin-test_micropay_succ,`,`0.00000,`39.00%,`0.00,`0.01,`
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额
`45.0,`0.47,`0.14,`0.0,`0.08,`0.47,`0.14
"""  # noqa: E501


def test_wechats_published_bill_sample_is_read():
    payment, refund = parse_trade_bill(OFFICIAL_BILL_SAMPLE)
    assert (payment.kind, payment.reference, payment.gateway_reference, payment.amount) == (
        "payment",
        "autotest_20190219015232_89201",
        "4200000263201902167700134902",
        Decimal("0.03"),
    )
    assert (refund.kind, refund.reference, refund.gateway_reference, refund.amount) == (
        "refund",
        "REF4200000263201902167700963919",
        "50000709672019011908420787722",
        Decimal("0.01"),
    )
    assert payment.at == datetime(2019, 2, 19, 1, 52, 32, tzinfo=SHANGHAI)


# --- keys, signatures and modes ----------------------------------------------------


def test_a_request_signed_with_another_key_is_refused_by_wechat(
    fake_wechatpay, wechatpay_keys, settings, order
):
    settings.WECHATPAY_PRIVATE_KEY = wechatpay_keys.other_private_key
    with pytest.raises(GatewayError, match="SIGN_ERROR"):
        WechatPayGateway().query(wechat_payment(order))


def test_an_answer_not_signed_by_wechat_is_not_believed(fake_wechatpay, wechatpay_keys, order):
    payment = wechat_payment(order)
    started(payment)
    fake_wechatpay.response_signing_key = wechatpay_keys.other_private_key
    with pytest.raises(GatewayError, match="verify the signature"):
        WechatPayGateway().query(payment)


def test_the_gateway_is_offered_when_configured(fake_wechatpay):
    assert isinstance(get_gateway("wechat"), WechatPayGateway)


def test_one_client_per_process_and_settings(fake_wechatpay, settings):
    gateway = WechatPayGateway()
    first = gateway.client()
    assert gateway.client() is first and WechatPayGateway().client() is first
    settings.WECHATPAY_APPID = "wx1111111111111111"
    assert gateway.client() is not first


def test_certificate_mode_downloads_the_platform_certificate_and_verifies_with_it(
    fake_wechatpay_certificates, settings, order
):
    fake = fake_wechatpay_certificates
    payment = paid_payment(fake, order)
    assert WechatPayGateway().query(payment).state == SUCCEEDED
    headers, body = fake.notification(payment.reference)
    assert headers["Wechatpay-Serial"] == fake.certificate_serial_no
    notification = WechatPayGateway().parse_notification(as_request(headers, body))
    assert notification.reference == payment.reference
    stored = list(Path(settings.WECHATPAY_CERT_DIR).glob("*.pem"))
    assert [path.stem for path in stored] == [fake.certificate_serial_no]


# The SDK picks the newest certificate with cryptography's deprecated naive datetimes.
@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
def test_certificate_mode_encrypts_the_payees_name_for_the_certificate(
    fake_wechatpay_certificates,
):
    WechatPayGateway().transfer(transfer(amount="2500.00"))
    request = fake_wechatpay_certificates.requests[-1]
    assert request.headers["wechatpay-serial"] == fake_wechatpay_certificates.certificate_serial_no
    assert fake_wechatpay_certificates.bills["W0001"]["user_name"] == "张三"


def test_acknowledge_and_reject_answer_as_v3_documents():
    gateway = WechatPayGateway()
    assert (gateway.acknowledge().status_code, gateway.acknowledge().content) == (200, b"")
    rejected = gateway.reject()
    assert rejected.status_code == 400
    assert json.loads(rejected.content) == {"code": "FAIL", "message": "失败"}


# --- WeChat Pay's published worked examples -----------------------------------------


def test_the_request_signature_string_is_the_documented_one(fake_wechatpay, monkeypatch):
    """签名生成 (pay.weixin.qq.com, 'Signature Generation'): GET /v3/certificates at
    1554208460 with nonce 593BEC0C930BF1AFEB40B4A08C8FB242 signs exactly
    "GET\\n/v3/certificates\\n1554208460\\n593BEC0C930BF1AFEB40B4A08C8FB242\\n\\n"."""
    documented = "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
    assert (
        request_message(
            "GET", "/v3/certificates", "1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", ""
        )
        == documented
    )
    # The SDK's clock set to the example's moment (the SDK's module only).
    monkeypatch.setattr(sdk_utils, "time", SimpleNamespace(time=lambda: 1554208460))
    client = WechatPayGateway().client()
    header = sdk_utils.build_authorization(
        "/v3/certificates",
        "GET",
        MCHID,
        "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
        client._core._private_key,
        nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",
    )
    scheme, _, fields = header.partition(" ")
    values = dict(part.split("=", 1) for part in fields.split(","))
    assert scheme == "WECHATPAY2-SHA256-RSA2048"
    assert values["timestamp"] == '"1554208460"'
    assert values["nonce_str"] == '"593BEC0C930BF1AFEB40B4A08C8FB242"'
    assert values["mchid"] == f'"{MCHID}"'
    signature = values["signature"].strip('"')
    assert rsa_verify(fake_wechatpay.merchant_public_key, documented, signature)


def test_the_jsapi_pay_sign_covers_the_documented_string(fake_wechatpay):
    """JSAPI调起支付 (chapter7_2_9): appId, timeStamp, nonceStr and package, each
    followed by a newline."""
    documented = (
        "wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n"
        "prepay_id=wx201410272009395522657a690389285100\n"
    )
    values = [
        "wx8888888888888888",
        "1414561699",
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        "prepay_id=wx201410272009395522657a690389285100",
    ]
    assert jsapi_message(*values) == documented
    # our parameters are signed over exactly that construction of their own values
    params = WechatPayGateway().jsapi_parameters("wx201410272009395522657a690389285100")
    signed = "".join(params[name] + "\n" for name in ("appId", "timeStamp", "nonceStr", "package"))
    assert params["package"] == "prepay_id=wx201410272009395522657a690389285100"
    assert rsa_verify(fake_wechatpay.merchant_public_key, signed, params["paySign"])


def test_the_response_signature_string_has_three_lines():
    assert response_message("1554208460", "n", '{"a":1}') == '1554208460\nn\n{"a":1}\n'


def test_aead_aes_256_gcm_matches_wechats_published_vector():
    """The AEAD_AES_256_GCM vector of WeChat Pay's Java SDK (AeadAesCipherTest, with
    its TestConfig API_V3_KEY): our fake encrypts to it, the SDK decrypts it."""
    key, nonce, associated, ciphertext = (
        "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb",
        "uluk4a9R25RW",
        "associatedData",
        "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=",
    )
    assert aead_encrypt(key, "message", nonce=nonce, associated_data=associated) == ciphertext
    assert sdk_utils.aes_decrypt(nonce, ciphertext, associated, key) == "message"


# WeChat Pay's Java SDK's recorded answer of GET /v3/certificates (TestConfig
# DOWNLOAD_CERTIFICATE_RESPONSE), encrypted with the key above.
RECORDED_CERTIFICATE = {
    "serial_no": "5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC",
    "nonce": "14b16c03dc1b",
    "associated_data": "certificate",
    "ciphertext": (
        "Mr/AxbvY+WL9hKlD5nIa03LOMPpn5f+CWeNxE4ujl0f5gXZ9XLJ9CldkArCOTsbU62XgKnTc3YvRMZQ7wCmE2fzw"
        "mAenAySTYsPms72JhggPWfdqVxri9YD5wBYKn8Ck0Fc5JIiVw9WlN2oxHBz83mRVsjoTGC5+cX1CdYqKuZ8pkvi0"
        "aCJIq07ZC8MHoTowUz+4jYJy9XeKqip83Z7BmUYxsePpNM+HtihBqTJIUYXJfX7Col5X0ACsApRoU9l6swfW/kzv"
        "qNpDJavhDBGasLrr5822+Fk5nVkcTi53f8Wbue7ODWjJxj1yhRYcxFCvXLtpYNB+Qa1aXtrBSdBdBI2p7o+6Imn+"
        "auHLBCzkrZqF/yd+d4vTn4tqHPLUj89XcHsMf96uBo3T/HQV8LEDeIO+6YvOK9FrIDYsvp+imN4n/mnF7eJKo9mp"
        "N/QqWJiawrFpAmMMxFKBjIdpgMnVUl3Z11RcWKyfOJ3kcmItTWcnZFNyDgR9cS0aU6QPlefa3uUW89uzBuHjcFdD"
        "l43yU3LE4qZnHLDcDgx4qt0OFCLiy51GXtEpyYs5k99YJBvKK+RyIs4Yc1/smBmClQUhxW+8bsPNOcXfDvH2yX4Y"
        "zESoO4TV0RqiCgnsSd4zIFyJPiMKIGzVHiw6Kg0eGCmB4mGHEEZCQ0eN3SSPO0QVjjtBYfgXDZfVHSaAB8PjWBVN"
        "FimoViZZQrwT6Ygo0LU0Dd8+F5aHFYr4OPHPslr3hrgutEYXDTv1vTA6ABJGqknJ9Y2vtyWpy7aIwxc0kQq/1ezj"
        "s+RMVL/LRpGDnbx1/CGPDjZhYgZypKa55+PDhoaQxqkF3xCLz2DGoNHZYmFqxzAOsAK0vJZw4VcAk6ssbA6YIaMu"
        "iemEpxfLC9ZiXtRqsX9s+GWjjtA8JywOFMO+NKZm9BH/E5YNg2DDD3sHG9Mciwn7yJ6sdf8h2lAWlEExAOeiBNys"
        "hOHAQ0/S+x1ncWNiqY+Uh5n0rtonvePV2MsxVlEWR3AVHn1abcEWkzivd+G5kg7LYO0goqzGClcQfnFfZdO6KwcM"
        "XsBCnm9A1Bl4+k5LLokTIYH5/36SRIZ9j0CHGD77BQLE7x8AlNsoFS2m263tLLq78TFqvZUTIZIQcVIl+NInscS3"
        "xQbA38qqFqutCWIwoF1azuJ7woiJyMvnS3xzIpNzP+rzJ8VDXxjLjpEUBOC9WDs74+QMtsAdmh6g0KDclHEk8WJ4"
        "P2bnso4z3VCGoDT5X/0bS1C+jMZMKaOCNB21FZ08qgUHmKeDeg8ylENu+mh2Y/AaEDSGkGBHIfFbhMYO3uRxhk9h"
        "ldiHEnHgdkXiVAAUWk/IhtmGijibO/L76vB74Xpes973uK+2iFKgNBk8qTLLZZnuWbcMQuA6VsFULRb/C+q9B21Y"
        "uAWPMzvgBwr4EX2m/OpF5w8Q0HL7v1H5H0mIGJbrjnklUPoBYrw30W3uk7yF0KE6sfMukafFx0S9rBOL0RykGDPw"
        "C0lHSNySkXDeM5XvDJ+dtHK+RDwhJR+azfrWAHGMtZcQ+YVamjWVmHxXM03j3GeCXgqae1upwHzkPL5OwojcQ5MQ"
        "i3Kv/1xtwY0cRN/yeZTOsXfujtqhkJj/Vltby4lnW4SCj4LjWQF19BY6zhzF4yybBA8bhhtoNP/zx8QkhHAkIROk"
        "K2ZVgfocCAPvfQ+vSrsIBO+L5cmg6mzFn4g84lsHscgXnszIlzUrzx/4Tam0uwuS9J1gddZ0I0QUt9SJzfsoBCTU"
        "0OgNMUtXKS5HvgXe7abexMtFH5eulOsAuFZkQ5LYJa/m4yHFInXzL/t3hjdTi2NmxUufvYzwIyffRTu5vS9vjscA"
        "RD9lUQDHFQ/xgWe1i8EkRlrSfjlXt00+4//h2bcJKyTBT3IXwvKNsuY29V9/vU3HkvWKZ99zpSlmcZRuBa1BHbyP"
        "Evc0NlqIIoKidxqUvOR64MzudHhAjgWFP+IXojfhS3Gj9OJhBL7s"
    ),
}


def test_a_recorded_platform_certificate_answer_decrypts_to_its_serial():
    pem = sdk_utils.aes_decrypt(
        RECORDED_CERTIFICATE["nonce"],
        RECORDED_CERTIFICATE["ciphertext"],
        RECORDED_CERTIFICATE["associated_data"],
        "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb",
    )
    certificate = sdk_utils.load_certificate(pem)
    assert f"{certificate.serial_number:X}" == RECORDED_CERTIFICATE["serial_no"]


# --- review: keys nobody may make us fetch, the shopper's IP, refused repeats ---------


def certificate_downloads(fake) -> int:
    return sum(1 for r in fake.requests if r.path == "/v3/certificates")


def test_a_notification_naming_a_key_we_do_not_know_sets_off_no_download(fake_wechatpay, order):
    payment = paid_payment(fake_wechatpay, order)
    headers, body = fake_wechatpay.notification(
        payment.reference, serial="PUB_KEY_ID_0000000000000000000000000000"
    )

    with pytest.raises(InvalidNotification, match="Wechatpay-Serial"):
        WechatPayGateway().parse_notification(as_request(headers, body))
    assert certificate_downloads(fake_wechatpay) == 0


def test_forged_serials_download_the_certificates_at_most_once_in_ten_minutes(
    fake_wechatpay_certificates, order
):
    fake = fake_wechatpay_certificates
    payment = paid_payment(fake, order)
    before = certificate_downloads(fake)

    for serial in ("ABCDEF0123", "ABCDEF0124", "ABCDEF0125"):
        headers, body = fake.notification(payment.reference, serial=serial)
        with pytest.raises(InvalidNotification):
            WechatPayGateway().parse_notification(as_request(headers, body))

    assert certificate_downloads(fake) - before <= 1
    headers, body = fake.notification(payment.reference)  # the real key still verifies
    assert WechatPayGateway().parse_notification(as_request(headers, body)).succeeded


def test_h5_behind_the_proxy_names_the_shoppers_ip_not_the_proxys(fake_wechatpay, order, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    payment = wechat_payment(order, "h5")
    request = RequestFactory().get(
        "/pay/",
        HTTP_USER_AGENT=PHONE,
        REMOTE_ADDR="10.0.0.2",  # the proxy
        HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9",  # what the client wrote, the proxy's
    )

    WechatPayGateway().start(payment, request=request, notify_url=NOTIFY, return_url="")

    scene = fake_wechatpay.trades[payment.reference]["request"]["scene_info"]
    assert scene["payer_client_ip"] == "203.0.113.9"


def test_a_refused_repeat_of_a_transfer_wechat_holds_answers_with_that_transfer(
    fake_wechatpay,
):
    made = WechatPayGateway().transfer(transfer())
    fake_wechatpay.fail_next(
        "POST", "/v3/fund-app/mch-transfer/transfer-bills", status=400, code="INVALID_REQUEST"
    )

    again = WechatPayGateway().transfer(transfer())

    assert (again.state, again.gateway_reference) == (made.state, made.gateway_reference)


def test_a_refused_transfer_whose_number_holds_another_transfer_is_not_taken_for_it(
    fake_wechatpay,
):
    WechatPayGateway().transfer(transfer(amount="88.00"))
    fake_wechatpay.fail_next(
        "POST", "/v3/fund-app/mch-transfer/transfer-bills", status=400, code="INVALID_REQUEST"
    )

    with pytest.raises(GatewayError, match="another transfer"):
        WechatPayGateway().transfer(transfer(amount="99.00"))
