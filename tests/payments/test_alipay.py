"""The Alipay gateway, on the real SDK, against FakeAlipay over loopback HTTP.

Nothing in our code is patched: ALIPAY_GATEWAY_URL points at the fake, which
checks our RSA2 signatures and signs its answers and notifications with its
own key, as Alipay does.
"""

import json
import urllib.parse
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from payments import services
from payments.gateways import GatewayError, RefundFailed, TransferRequest, get_gateway
from payments.gateways import alipay as alipay_gateway
from payments.gateways.base import CLOSED, PENDING, SHANGHAI, SUCCEEDED, InvalidNotification
from payments.models import Payment, Refund, Transfer
from payments.transfers import send_transfer
from tests.fakes.alipay import (
    notification_signing_string,
    request_signing_string,
    rsa2_sign,
    rsa2_verify,
)
from tests.payments.alipay_fixtures import make_alipay_payment

pytestmark = pytest.mark.django_db
NOTIFY = reverse("payments:notify", args=["alipay"])
RETURN_URL = "http://shop.test/orders/return/"
PAYEE = "payee@example.com"


@pytest.fixture
def gateway(fake_alipay):
    return get_gateway("alipay")


def start(gateway, payment, notify_url="http://127.0.0.1:9/notify/alipay/"):
    return gateway.start(
        payment, request=RequestFactory().get("/"), notify_url=notify_url, return_url=RETURN_URL
    )


def open_cashier(gateway, payment, notify_url="http://127.0.0.1:9/notify/alipay/"):
    """What the shopper's browser does: follow the redirect to Alipay's cashier."""
    return requests.get(start(gateway, payment, notify_url).redirect_url, timeout=5)


@pytest.fixture
def opened(gateway, alipay_payment, notify_receiver):
    """A payment whose cashier the shopper opened: Alipay has the trade, unpaid."""
    assert open_cashier(gateway, alipay_payment, notify_receiver.notify_url).status_code == 200
    return alipay_payment


@pytest.fixture
def paid(opened, fake_alipay):
    fake_alipay.pay(opened.reference, deliver=False)
    return opened


def notification_request(params):
    return RequestFactory().post("/payments/notify/alipay/", params)


# --- paying -------------------------------------------------------------------------------


def test_page_checkout_sends_the_shopper_to_the_cashier_for_the_payment(
    gateway, fake_alipay, alipay_payment, settings
):
    checkout = start(gateway, alipay_payment)
    assert checkout.redirect_url.startswith(settings.ALIPAY_GATEWAY_URL + "?")

    page = requests.get(checkout.redirect_url, timeout=5)

    # then: the fake verified our signature and shows its cashier
    assert page.status_code == 200
    assert "Fake Alipay cashier" in page.text and 'id="fake-alipay-pay"' in page.text
    assert f"¥{alipay_payment.amount:.2f}" in page.text
    (call,) = fake_alipay.calls_of("alipay.trade.page.pay")
    assert call["biz"]["subject"] == f"订单 {alipay_payment.order.number}"
    assert call["biz"]["product_code"] == "FAST_INSTANT_TRADE_PAY"
    # the trade expires when the order would be cancelled unpaid (30 minutes after it)
    deadline = alipay_payment.order.created_at + timedelta(minutes=30)
    assert call["biz"]["time_expire"] == deadline.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    assert fake_alipay.trades[alipay_payment.reference]["status"] == "WAIT_BUYER_PAY"


def test_wap_checkout_opens_the_phone_cashier_with_a_way_back(gateway, fake_alipay, alipay_order):
    payment = make_alipay_payment(alipay_order, channel="wap")

    page = open_cashier(gateway, payment)

    assert page.status_code == 200 and "Fake Alipay cashier" in page.text
    (call,) = fake_alipay.calls_of("alipay.trade.wap.pay")
    assert call["biz"]["product_code"] == "QUICK_WAP_WAY"  # Alipay's code, not the SDK's
    assert call["biz"]["quit_url"] == RETURN_URL
    deadline = alipay_order.created_at + timedelta(minutes=30)  # wap counts in minutes
    assert call["biz"]["time_expire"] == deadline.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def test_an_order_past_its_deadline_still_gets_a_trade_alipay_accepts(
    gateway, fake_alipay, alipay_payment
):
    Order.objects.filter(pk=alipay_payment.order_id).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    alipay_payment.order.refresh_from_db()

    assert open_cashier(gateway, alipay_payment).status_code == 200
    (call,) = fake_alipay.calls_of("alipay.trade.page.pay")
    expires = datetime.strptime(call["biz"]["time_expire"], "%Y-%m-%d %H:%M:%S")
    assert expires.replace(tzinfo=SHANGHAI) > timezone.now() + timedelta(minutes=1)


def test_a_tampered_cashier_link_is_refused(gateway, fake_alipay, alipay_payment):
    url = start(gateway, alipay_payment).redirect_url
    base, query = url.split("?", 1)
    params = dict(urllib.parse.parse_qsl(query))
    biz = json.loads(params["biz_content"])
    params["biz_content"] = json.dumps({**biz, "total_amount": "0.01"})

    page = requests.get(base + "?" + urllib.parse.urlencode(params), timeout=5)

    assert page.status_code == 400 and "isv.invalid-signature" in page.text
    assert fake_alipay.trades == {}


def test_paying_at_the_cashier_notifies_us_and_the_order_is_paid(
    client, fake_alipay, opened, notify_receiver
):
    # when: the shopper presses Pay on the cashier
    answer = requests.post(
        fake_alipay.url + "/fake/pay",
        data={"out_trade_no": opened.reference},
        allow_redirects=False,
        timeout=5,
    )

    # then: the browser goes back to the shop with the signed return parameters
    assert answer.status_code == 302
    back = urllib.parse.urlsplit(answer.headers["Location"])
    assert back.geturl().startswith(RETURN_URL)
    returned = dict(urllib.parse.parse_qsl(back.query))
    assert returned["method"] == "alipay.trade.page.pay.return"
    assert returned["out_trade_no"] == opened.reference
    # and Alipay's server posted the notification, which our view takes
    fake_alipay.wait_for_deliveries(1)
    (form,) = notify_receiver.forms
    response = client.post(NOTIFY, form)
    assert (response.status_code, response.content) == (200, b"success")
    opened.order.refresh_from_db()
    assert opened.order.status == Order.Status.PAID


def test_a_notification_is_delivered_again_until_answered_success(
    fake_alipay, opened, notify_receiver
):
    notify_receiver.answers = ["fail", "", "success"]

    fake_alipay.pay(opened.reference)

    fake_alipay.wait_for_deliveries(3)
    fake_alipay.wait_for_idle()
    bodies = [body for _url, _status, body in fake_alipay.notifications_delivered]
    assert bodies == ["fail", "", "success"]
    assert len({form["notify_id"] for form in notify_receiver.forms}) == 1  # one notification


def test_a_second_delivery_of_a_notification_pays_the_order_once(client, fake_alipay, opened):
    params = fake_alipay.pay(opened.reference, deliver=False)

    first, second = client.post(NOTIFY, params), client.post(NOTIFY, params)

    assert first.content == second.content == b"success"
    assert opened.order.events.filter(to_status="paid").count() == 1


def _forged(fake, payment, keys):
    return fake.notification_for(
        payment.reference, trade_status="TRADE_SUCCESS", sign_with=keys["stranger_private"]
    )


def _unsigned(fake, payment, keys):
    params = fake.notification_for(payment.reference, trade_status="TRADE_SUCCESS")
    del params["sign"]
    return params


def _other_app(fake, payment, keys):
    return fake.notification_for(
        payment.reference, trade_status="TRADE_SUCCESS", app_id="2021000117699999"
    )


def _one_fen_off(fake, payment, keys):
    amount = f"{payment.amount - Decimal('0.01'):.2f}"
    return fake.notification_for(
        payment.reference,
        trade_status="TRADE_SUCCESS",
        total_amount=amount,
        receipt_amount=amount,
        buyer_pay_amount=amount,
    )


def _tampered(fake, payment, keys):
    params = fake.notification_for(payment.reference, trade_status="TRADE_SUCCESS")
    params["total_amount"] = "0.01"
    return params


def _rsa1(fake, payment, keys):
    return {
        **fake.notification_for(payment.reference, trade_status="TRADE_SUCCESS"),
        "sign_type": "RSA",
    }


def _unknown_payment(fake, payment, keys):
    return fake.notification_for(
        payment.reference, trade_status="TRADE_SUCCESS", out_trade_no="PNOSUCHPAYMENT"
    )


@pytest.mark.parametrize(
    "make",
    [_forged, _unsigned, _other_app, _one_fen_off, _tampered, _rsa1, _unknown_payment],
    ids=lambda make: make.__name__.strip("_"),
)
def test_a_bad_notification_is_refused_and_changes_nothing(
    client, fake_alipay, opened, alipay_keys, make
):
    params = make(fake_alipay, opened, alipay_keys)

    response = client.post(NOTIFY, params)

    assert (response.status_code, response.content) == (400, b"fail")
    opened.refresh_from_db()
    assert opened.status == Payment.Status.CREATED
    assert opened.order.status == Order.Status.PENDING_PAYMENT


def test_money_paid_to_another_seller_is_refused_when_our_pid_is_known(
    client, fake_alipay, opened, settings
):
    settings.ALIPAY_SELLER_ID = "2088000000000001"  # the fake's seller is someone else
    params = fake_alipay.notification_for(opened.reference, trade_status="TRADE_SUCCESS")

    assert client.post(NOTIFY, params).status_code == 400
    settings.ALIPAY_SELLER_ID = fake_alipay.seller_id
    assert client.post(NOTIFY, params).content == b"success"


def test_a_notification_of_a_trade_still_waiting_does_not_pay(client, fake_alipay, opened):
    params = fake_alipay.notification_for(opened.reference)  # WAIT_BUYER_PAY

    client.post(NOTIFY, params)

    opened.refresh_from_db()
    assert opened.status == Payment.Status.CREATED
    assert opened.order.status == Order.Status.PENDING_PAYMENT


@pytest.mark.parametrize("amount", ["12.345", "12,30", "-1.00", "1e3", "NaN", " 1.00"])
def test_a_signed_notification_with_a_malformed_amount_is_refused(
    gateway, fake_alipay, opened, amount
):
    params = fake_alipay.notification_for(opened.reference, total_amount=amount)

    with pytest.raises(InvalidNotification):
        gateway.parse_notification(notification_request(params))


def test_a_signed_notification_without_the_trade_is_refused(gateway, fake_alipay, opened):
    params = fake_alipay.notification_for(opened.reference, out_trade_no=None)

    with pytest.raises(InvalidNotification):
        gateway.parse_notification(notification_request(params))


def test_empty_fields_are_left_out_of_the_signed_string(gateway, fake_alipay, opened):
    # Alipay's own SDKs skip empty values when they verify; the Python SDK would not.
    params = {**fake_alipay.notification_for(opened.reference), "passback_params": ""}

    notification = gateway.parse_notification(notification_request(params))

    assert notification.reference == opened.reference
    assert notification.notification_id == params["notify_id"]


# --- Alipay's published worked examples of the string to sign ------------------------------

# 异步通知验签 (async notification verification): the notification Alipay's documentation
# shows for https://api.xx.com/receive_notify.htm, and the string it says is verified.
DOCUMENTED_NOTIFICATION = {
    "total_amount": "2.00",
    "buyer_id": "2088102116773037",
    "body": "大乐透2.1",
    "trade_no": "2016071921001003030200089909",
    "refund_fee": "0.00",
    "notify_time": "2016-07-19 14:10:49",
    "subject": "大乐透2.1",
    "sign_type": "RSA2",
    "charset": "utf-8",
    "notify_type": "trade_status_sync",
    "out_trade_no": "0719141034-6418",
    "gmt_close": "2016-07-19 14:10:46",
    "gmt_payment": "2016-07-19 14:10:47",
    "trade_status": "TRADE_SUCCESS",
    "version": "1.0",
    "gmt_create": "2016-07-19 14:10:44",
    "app_id": "2015102700040153",
    "seller_id": "2088102119685838",
    "notify_id": "4a91b7a78a503640467525113fb7d8bg8e",
}
PUBLISHED_NOTIFICATION_STRING = (
    "app_id=2015102700040153&body=大乐透2.1&buyer_id=2088102116773037&charset=utf-8"
    "&gmt_close=2016-07-19 14:10:46&gmt_payment=2016-07-19 14:10:47"
    "&notify_id=4a91b7a78a503640467525113fb7d8bg8e&notify_time=2016-07-19 14:10:49"
    "&notify_type=trade_status_sync&out_trade_no=0719141034-6418&refund_fee=0.00"
    "&seller_id=2088102119685838&subject=大乐透2.1&total_amount=2.00"
    "&trade_no=2016071921001003030200089909&trade_status=TRADE_SUCCESS&version=1.0"
)
# The published string leaves out gmt_create, which the published notification carries
# and the rule it states ("除去sign、sign_type两个参数外，凡是通知返回回来的参数皆是待验签的参数")
# keeps. We follow the rule; this is the published string with that one pair in place.
GMT_CREATE = "&gmt_create=2016-07-19 14:10:44"
DOCUMENTED_NOTIFICATION_STRING = PUBLISHED_NOTIFICATION_STRING.replace(
    "&gmt_payment=", GMT_CREATE + "&gmt_payment="
)
# 自行实现签名 (signing a request yourself): the request and the string Alipay shows.
DOCUMENTED_BIZ_CONTENT = (
    '{"button":[{"actionParam":"ZFB_HFCZ","actionType":"out","name":"话费充值"},'
    '{"name":"查询","subButton":[{"actionParam":"ZFB_YECX","actionType":"out","name":"余额查询"},'
    '{"actionParam":"ZFB_LLCX","actionType":"out","name":"流量查询"},'
    '{"actionParam":"ZFB_HFCX","actionType":"out","name":"话费查询"}]},'
    '{"actionParam":"http://m.alipay.com","actionType":"link","name":"最新优惠"}]}'
)
DOCUMENTED_REQUEST = {
    "app_id": "2014072300007148",
    "method": "alipay.mobile.public.menu.add",
    "charset": "GBK",
    "sign_type": "RSA2",
    "timestamp": "2014-07-24 03:07:50",
    "biz_content": DOCUMENTED_BIZ_CONTENT,
    "version": "1.0",
}
DOCUMENTED_REQUEST_STRING = (
    f"app_id=2014072300007148&biz_content={DOCUMENTED_BIZ_CONTENT}&charset=GBK"
    "&method=alipay.mobile.public.menu.add&sign_type=RSA2&timestamp=2014-07-24 03:07:50"
    "&version=1.0"
)


def test_the_fake_signs_notifications_over_the_documented_string():
    signed_string = notification_signing_string(DOCUMENTED_NOTIFICATION)

    assert signed_string == DOCUMENTED_NOTIFICATION_STRING
    assert signed_string.replace(GMT_CREATE, "") == PUBLISHED_NOTIFICATION_STRING


def test_our_verification_checks_the_documented_string(gateway, alipay_keys, settings):
    # given: Alipay's documented notification, signed over exactly the documented string
    settings.ALIPAY_APP_ID = DOCUMENTED_NOTIFICATION["app_id"]
    sign = rsa2_sign(DOCUMENTED_NOTIFICATION_STRING, alipay_keys["alipay_private"])
    params = {**DOCUMENTED_NOTIFICATION, "sign": sign}

    # then: it verifies, so our verification built that very string
    notification = gateway.parse_notification(notification_request(params))

    assert (notification.reference, notification.amount, notification.succeeded) == (
        "0719141034-6418",
        Decimal("2.00"),
        True,
    )


def test_the_fake_verifies_requests_over_the_documented_string():
    assert request_signing_string(DOCUMENTED_REQUEST) == DOCUMENTED_REQUEST_STRING


def test_our_client_signs_requests_over_the_documented_string(fake_alipay, alipay_keys):
    signed = alipay_gateway.client().sign_data(dict(DOCUMENTED_REQUEST))

    sign = dict(urllib.parse.parse_qsl(signed))["sign"]
    assert rsa2_verify(DOCUMENTED_REQUEST_STRING, sign, alipay_keys["app_public"])


# --- asking about a payment ---------------------------------------------------------------


def test_a_payment_whose_cashier_was_never_opened_is_pending(gateway, alipay_payment):
    assert gateway.query(alipay_payment).state == PENDING


def test_an_opened_unpaid_payment_is_pending(gateway, opened):
    assert gateway.query(opened).state == PENDING


def test_a_paid_payment_reports_alipays_trade_and_amount(gateway, fake_alipay, paid):
    status = gateway.query(paid)

    assert status.state == SUCCEEDED
    assert status.trade_no == fake_alipay.trades[paid.reference]["trade_no"]
    assert status.amount == paid.amount


def test_a_finished_trade_was_paid_in_a_query_and_a_notification(
    gateway, client, fake_alipay, paid
):
    fake_alipay.trades[paid.reference]["status"] = "TRADE_FINISHED"  # no refunds any more

    assert gateway.query(paid).state == SUCCEEDED
    params = fake_alipay.notification_for(paid.reference, trade_status="TRADE_FINISHED")
    assert client.post(NOTIFY, params).content == b"success"
    paid.order.refresh_from_db()
    assert paid.order.status == Order.Status.PAID


def test_closing_an_unpaid_payment_closes_it_at_alipay(gateway, fake_alipay, opened):
    gateway.close(opened)

    assert fake_alipay.trades[opened.reference]["status"] == "TRADE_CLOSED"
    assert gateway.query(opened).state == CLOSED
    # the old cashier link no longer takes money
    assert open_cashier(gateway, opened).status_code == 400


def test_closing_a_payment_alipay_never_saw_is_no_error(gateway, fake_alipay, alipay_payment):
    gateway.close(alipay_payment)

    assert fake_alipay.calls_of("alipay.trade.close")


def test_closing_a_paid_payment_is_an_error(gateway, paid):
    with pytest.raises(GatewayError):
        gateway.close(paid)


def test_an_answer_with_a_bad_signature_is_not_believed(gateway, fake_alipay, paid, alipay_keys):
    fake_alipay.sign_answers_with = alipay_keys["stranger_private"]

    with pytest.raises(GatewayError, match="signature"):
        gateway.query(paid)


def test_a_request_signed_with_another_key_is_refused_by_alipay(
    gateway, fake_alipay, alipay_payment, alipay_keys, settings
):
    settings.ALIPAY_APP_PRIVATE_KEY = alipay_keys["stranger_private"]

    with pytest.raises(GatewayError, match="invalid-signature"):
        gateway.query(alipay_payment)


def test_alipay_out_of_reach_is_a_gateway_error(gateway, fake_alipay, alipay_payment):
    fake_alipay.stop()

    with pytest.raises(GatewayError):
        gateway.query(alipay_payment)


# --- refunds ------------------------------------------------------------------------------


def test_a_refund_gives_the_money_back_at_alipay(gateway, fake_alipay, paid):
    result = gateway.refund(paid, Decimal("10.00"), "broken bottle", request_no="R-01")

    trade = fake_alipay.trades[paid.reference]
    assert result.state == SUCCEEDED and result.amount == Decimal("10.00")
    assert result.gateway_reference == f"{trade['trade_no']}:R-01"
    assert trade["refunded"] == Decimal("10.00")


def test_a_repeated_refund_request_refunds_once(gateway, fake_alipay, paid):
    first = gateway.refund(paid, Decimal("10.00"), "once", request_no="R-01")

    again = gateway.refund(paid, Decimal("10.00"), "once", request_no="R-01")

    assert again.state == SUCCEEDED and again.gateway_reference == first.gateway_reference
    assert fake_alipay.trades[paid.reference]["refunded"] == Decimal("10.00")
    assert len(fake_alipay.refunds) == 1
    assert fake_alipay.calls_of("alipay.trade.fastpay.refund.query")  # it asked which


def test_refunding_more_than_was_paid_is_refused(gateway, paid):
    with pytest.raises(RefundFailed, match="退款金额超限"):
        gateway.refund(paid, paid.amount + Decimal("0.01"), "too much", request_no="R-01")


def test_refunding_an_unpaid_payment_is_refused(gateway, fake_alipay, opened):
    with pytest.raises(RefundFailed):
        gateway.refund(opened, Decimal("1.00"), "not paid", request_no="R-01")
    assert fake_alipay.refunds == {}


@pytest.mark.parametrize("mode", ["after-504", "system-error"])
def test_a_refund_of_unknown_outcome_is_retried_with_the_same_number(
    gateway, fake_alipay, paid, mode
):
    fake_alipay.fail_next("alipay.trade.refund", mode)
    with pytest.raises(GatewayError) as raised:
        gateway.refund(paid, Decimal("10.00"), "retry", request_no="R-01")
    assert not isinstance(raised.value, RefundFailed)  # unknown, not refused

    result = gateway.refund(paid, Decimal("10.00"), "retry", request_no="R-01")

    assert result.state == SUCCEEDED
    assert fake_alipay.trades[paid.reference]["refunded"] == Decimal("10.00")


def test_a_refund_made_is_found_by_its_number(gateway, fake_alipay, paid):
    gateway.refund(paid, Decimal("10.00"), "found", request_no="R-01")

    result = gateway.query_refund(Refund(payment=paid, request_no="R-01", amount=Decimal("10")))

    assert (result.state, result.amount) == (SUCCEEDED, Decimal("10.00"))
    (call,) = fake_alipay.calls_of("alipay.trade.fastpay.refund.query")
    assert call["biz"]["query_options"] == ["gmt_refund_pay"]


def test_a_refund_found_without_a_status_was_made(gateway, fake_alipay, paid):
    gateway.refund(paid, Decimal("10.00"), "found", request_no="R-01")
    fake_alipay.refunds[(paid.reference, "R-01")]["refund_status"] = ""  # synchronous refund

    result = gateway.query_refund(Refund(payment=paid, request_no="R-01", amount=Decimal("10")))

    assert result.state == SUCCEEDED


def test_a_refund_alipay_never_received_is_closed(gateway, paid):
    result = gateway.query_refund(Refund(payment=paid, request_no="R-09", amount=Decimal("1")))

    assert result.state == CLOSED and result.reason


# --- payouts ------------------------------------------------------------------------------


def payout(bill_no="W-0001", amount="50.00", name="张三"):
    return TransferRequest(
        bill_no=bill_no, amount=Decimal(amount), account=PAYEE, name=name, remark="佣金提现"
    )


@pytest.fixture
def payee(fake_alipay):
    fake_alipay.accounts[PAYEE] = "张三"
    return PAYEE


def test_a_transfer_pays_the_payee(gateway, fake_alipay, payee):
    before = fake_alipay.balance

    result = gateway.transfer(payout())

    assert result.state == SUCCEEDED
    assert result.gateway_reference == fake_alipay.transfers["W-0001"]["order_id"]
    assert fake_alipay.balance == before - Decimal("50.00")
    (call,) = fake_alipay.calls_of("alipay.fund.trans.uni.transfer")
    assert call["biz"]["payee_info"] == {
        "identity": PAYEE,
        "identity_type": "ALIPAY_LOGON_ID",
        "name": "张三",
    }


def test_a_transfer_to_a_name_that_does_not_match_is_closed_with_alipays_reason(
    gateway, fake_alipay, payee
):
    result = gateway.transfer(payout(name="李四"))

    assert result.state == CLOSED and "姓名不匹配" in result.reason
    assert fake_alipay.transfers == {}


def test_a_refused_repeat_of_a_transfer_alipay_made_is_not_taken_for_unpaid(
    gateway, fake_alipay, payee
):
    made = gateway.transfer(payout())
    fake_alipay.fail_next("alipay.fund.trans.uni.transfer", "refuse")

    again = gateway.transfer(payout())

    assert (again.state, again.gateway_reference) == (SUCCEEDED, made.gateway_reference)


def test_a_transfer_to_an_unknown_account_is_closed(gateway, fake_alipay):
    result = gateway.transfer(payout())

    assert result.state == CLOSED and result.reason == "收款账号不存在"


@pytest.mark.parametrize("mode", ["after-504", "after-timeout", "system-error"])
def test_a_transfer_of_unknown_outcome_asked_again_pays_once(
    gateway, fake_alipay, payee, settings, mode
):
    settings.ALIPAY_TIMEOUT = 0.3
    fake_alipay.hang_seconds = 0.8
    before = fake_alipay.balance
    fake_alipay.fail_next("alipay.fund.trans.uni.transfer", mode)
    with pytest.raises(GatewayError):
        gateway.transfer(payout())

    result = gateway.transfer(payout())

    assert result.state == SUCCEEDED
    assert fake_alipay.balance == before - Decimal("50.00")
    assert list(fake_alipay.transfers) == ["W-0001"]


def test_a_transfer_made_is_found_by_its_bill_number(gateway, fake_alipay, payee):
    made = gateway.transfer(payout())

    found = gateway.query_transfer("W-0001")

    assert (found.state, found.gateway_reference) == (SUCCEEDED, made.gateway_reference)


def test_a_transfer_alipay_never_received_is_closed(gateway, fake_alipay):
    result = gateway.query_transfer("W-0404")

    assert result.state == CLOSED and result.reason


@pytest.mark.parametrize(
    ("status", "state"), [("DEALING", PENDING), ("FAIL", CLOSED), ("REFUND", CLOSED)]
)
def test_a_transfer_alipay_has_not_finished_or_failed_is_reported_so(
    gateway, fake_alipay, payee, status, state
):
    gateway.transfer(payout())
    fake_alipay.transfers["W-0001"].update(status=status, fail_reason="收款方账户冻结")

    result = gateway.query_transfer("W-0001")

    assert result.state == state
    if state == CLOSED:
        assert result.reason == "收款方账户冻结"


# --- the daily bill -----------------------------------------------------------------------


def _today(fake):
    return fake.now().date()


def test_the_bill_lists_the_days_payments_and_refunds(gateway, fake_alipay, paid):
    # given: our paid payment, partly refunded, and someone else's payment that day
    gateway.refund(paid, Decimal("10.00"), "part", request_no=f"{paid.reference}-R01")
    fake_alipay.create_trade("POTHER", "12.30")
    fake_alipay.pay("POTHER", deliver=False)
    trade_no = fake_alipay.trades[paid.reference]["trade_no"]

    lines = gateway.bill(_today(fake_alipay))

    assert {(line.kind, line.reference, line.gateway_reference, line.amount) for line in lines} == {
        ("payment", paid.reference, trade_no, paid.amount),
        ("refund", f"{paid.reference}-R01", trade_no, Decimal("10.00")),
        ("payment", "POTHER", fake_alipay.trades["POTHER"]["trade_no"], Decimal("12.30")),
    }
    assert all(line.at and line.at.date() == _today(fake_alipay) for line in lines)


def test_lines_added_or_changed_at_alipay_show_in_the_bill(gateway, fake_alipay, paid):
    fake_alipay.trades[paid.reference]["total_amount"] = "0.01"
    fake_alipay.extra_bill_lines.append(
        {
            "trade_no": "2026010122001400000000000009",
            "out_trade_no": "PSTRANGER",
            "kind": "交易",
            "finished": fake_alipay.timestamp(),
            "amount": "5.00",
        }
    )

    lines = {line.reference: line.amount for line in gateway.bill(_today(fake_alipay))}

    assert lines == {paid.reference: Decimal("0.01"), "PSTRANGER": Decimal("5.00")}


def test_a_day_without_a_bill_has_no_lines(gateway, fake_alipay):
    assert gateway.bill(date(2020, 1, 1)) == []


def test_a_bill_that_is_not_a_zip_is_an_error():
    with pytest.raises(GatewayError):
        alipay_gateway.parse_bill(b"<html>error</html>")


def test_a_bill_row_cut_short_is_an_error_not_a_missing_line():
    detail = (
        "支付宝交易号,商户订单号,业务类型,订单金额（元）,完成时间,退款批次号/请求号\n2026,P1,交易\n"
    )
    with pytest.raises(GatewayError, match="short row"):
        alipay_gateway.parse_bill_detail(detail)


# --- devices, settings, certificate mode --------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "channels"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", ("wap", "page")),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36", ("wap", "page")),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36", ("page", "wap")),
        ("", ("page", "wap")),
        ("Mozilla/5.0 (iPhone) Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI", ()),
    ],
)
def test_phones_get_the_wap_cashier_first_computers_the_page_and_wechat_none(
    gateway, agent, channels
):
    assert gateway.channels_for(RequestFactory().get("/", HTTP_USER_AGENT=agent)) == channels


def test_the_client_is_built_once_per_settings(fake_alipay, settings):
    first = alipay_gateway.client()
    assert alipay_gateway.client() is first

    settings.ALIPAY_GATEWAY_URL = fake_alipay.url + "/other/gateway.do"

    assert alipay_gateway.client() is not first
    assert alipay_gateway.client()._gateway == settings.ALIPAY_GATEWAY_URL


def test_certificate_mode_sends_the_certificate_serial_numbers(
    gateway, fake_alipay, alipay_payment, cert_chain, settings
):
    fake_alipay.expected_cert_sn = (cert_chain["app_sn"], cert_chain["root_sn"])
    fake_alipay.alipay_cert_sn = cert_chain["alipay_sn"]
    settings.ALIPAY_PUBLIC_KEY = ""
    settings.ALIPAY_APP_CERT = cert_chain["app"]
    settings.ALIPAY_PUBLIC_CERT = cert_chain["alipay"]
    settings.ALIPAY_ROOT_CERT = cert_chain["root"]

    assert gateway.query(alipay_payment).state == PENDING


# --- wired to the services ----------------------------------------------------------------


def test_the_refund_service_gives_money_back_through_alipay(client, fake_alipay, opened):
    client.post(NOTIFY, fake_alipay.pay(opened.reference, deliver=False))
    opened.refresh_from_db()

    refund = services.refund_payment(opened, Decimal("10.00"), reason="one bottle broke")

    trade = fake_alipay.trades[opened.reference]
    assert refund.gateway_reference == f"{trade['trade_no']}:{refund.request_no}"
    assert trade["refunded"] == Decimal("10.00")


def test_the_transfer_service_pays_a_payout_through_alipay(fake_alipay, payee):
    transfer = send_transfer("alipay", payout())

    assert transfer.status == Transfer.Status.SUCCEEDED
    assert transfer.gateway_reference == fake_alipay.transfers["W-0001"]["order_id"]
