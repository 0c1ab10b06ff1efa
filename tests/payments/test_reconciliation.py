"""Reconciliation (对账): lost notifications are found by asking, bills are compared daily."""

import time
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests
from django.test import RequestFactory
from django.utils import timezone

from orders.models import Order
from payments import reconciliation, services
from payments.models import BillDifference, Payment, PaymentNotification, Refund

pytestmark = pytest.mark.django_db


def opened_minutes_ago(payment, minutes):
    """The shopper went to the gateway's cashier `minutes` ago and never came back."""
    checkout = services.open_checkout(
        payment, request=RequestFactory().get("/"), return_url="http://testserver/back/"
    )
    if checkout.redirect_url:  # the browser opens the gateway's cashier
        assert requests.get(checkout.redirect_url, timeout=5).status_code == 200
    Payment.objects.filter(pk=payment.pk).update(
        started_at=timezone.now() - timedelta(minutes=minutes)
    )
    payment.refresh_from_db()
    return payment


def test_a_payment_whose_notification_was_lost_is_found_paid_by_the_query(
    fake_alipay, alipay_payment
):
    payment = opened_minutes_ago(alipay_payment, 10)
    fake_alipay.pay(payment.reference, deliver=False)  # Alipay's notification never arrives

    counts = reconciliation.query_in_flight()

    assert counts["paid"] == 1
    payment.order.refresh_from_db()
    assert payment.order.status == Order.Status.PAID
    assert PaymentNotification.objects.get(payment=payment).kind == "query"


def test_a_payment_the_shopper_has_just_left_to_pay_is_not_asked_about_yet(
    fake_alipay, alipay_payment
):
    payment = opened_minutes_ago(alipay_payment, 1)
    fake_alipay.pay(payment.reference, deliver=False)

    assert reconciliation.query_in_flight()["payments"] == 0
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED


def test_an_unpaid_payment_asked_about_stays_unpaid_and_is_not_asked_again_at_once(
    fake_alipay, alipay_payment
):
    opened_minutes_ago(alipay_payment, 10)

    assert reconciliation.query_in_flight()["payments"] == 1
    assert reconciliation.query_in_flight()["payments"] == 0
    alipay_payment.refresh_from_db()
    assert alipay_payment.status == Payment.Status.CREATED


@pytest.fixture
def wechat_paid(fake_wechatpay, shopper, make_variant, address):
    from orders import services as order_services

    order = order_services.place_order(
        shopper, [(make_variant(price="100.00").pk, 1)], address=address
    )
    payment = services.start_payment(order, gateway_code="wechat", channel="native")
    opened_minutes_ago(payment, 10)
    fake_wechatpay.pay(payment.reference, deliver=False)
    reconciliation.query_in_flight()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    return payment


def test_a_refund_whose_notification_was_lost_is_recorded_by_the_query(fake_wechatpay, wechat_paid):
    refund = services.refund_payment(wechat_paid, wechat_paid.amount, reason="broken")
    assert refund.status == Refund.Status.PROCESSING  # WeChat finishes refunds later
    Refund.objects.filter(pk=refund.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    fake_wechatpay.refunds[refund.request_no]["status"] = "SUCCESS"  # its notification is lost

    assert reconciliation.query_in_flight()["settled"] == 1

    refund.refresh_from_db()
    wechat_paid.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert wechat_paid.status == Payment.Status.REFUNDED


@pytest.mark.django_db(transaction=True)  # the live server reads what the test wrote
def test_a_refund_notification_from_wechat_finishes_the_refund(
    client, fake_wechatpay, wechat_paid, settings, live_server
):
    settings.SITE_URL = live_server.url  # where WeChat posts the refund notification
    refund = services.refund_payment(wechat_paid, Decimal("30.00"), reason="one broke")

    fake_wechatpay.finish_refund(refund.request_no, "SUCCESS")

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        refund.refresh_from_db()
        if refund.status != Refund.Status.PROCESSING:
            break
        time.sleep(0.05)
    assert refund.status == Refund.Status.SUCCEEDED


def today(fake):
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture
def alipay_paid(client, fake_alipay, alipay_payment):
    payment = opened_minutes_ago(alipay_payment, 10)
    fake_alipay.pay(payment.reference, deliver=False)
    reconciliation.query_in_flight()
    payment.refresh_from_db()
    return payment


def differences(check):
    return {(d.kind, d.line_kind, d.reference) for d in check.differences.all()}


def test_a_day_where_the_bill_and_our_records_agree_has_no_differences(fake_alipay, alipay_paid):
    services.refund_payment(alipay_paid, Decimal("10.00"), reason="part")

    check = reconciliation.check_bill("alipay", today(fake_alipay))

    assert differences(check) == set()
    assert (check.gateway_lines, check.our_lines) == (2, 2)
    assert check.gateway_total == check.our_total == alipay_paid.amount - Decimal("10.00")


def test_the_bill_shows_what_is_missing_on_either_side_and_what_differs(
    fake_alipay, alipay_paid, shopper
):
    fake_alipay.trades[alipay_paid.reference]["total_amount"] = "0.01"
    fake_alipay.extra_bill_lines.append(
        {
            "trade_no": "2026010122001400000000000009",
            "out_trade_no": "PSTRANGER",
            "kind": "交易",
            "finished": fake_alipay.timestamp(),
            "amount": "5.00",
        }
    )
    ours_only = Payment.objects.create(
        order=alipay_paid.order,
        gateway="alipay",
        channel="page",
        amount=Decimal("8.00"),
        status=Payment.Status.SUCCEEDED,
        succeeded_at=timezone.now(),
    )

    check = reconciliation.check_bill("alipay", today(fake_alipay))

    assert differences(check) == {
        (BillDifference.Kind.AMOUNT_DIFFERS, "payment", alipay_paid.reference),
        (BillDifference.Kind.MISSING_HERE, "payment", "PSTRANGER"),
        (BillDifference.Kind.MISSING_THERE, "payment", ours_only.reference),
    }
    again = reconciliation.check_bill("alipay", today(fake_alipay))
    assert again.pk == check.pk and again.differences.count() == 3


def test_wechats_bill_is_compared_the_same_way(fake_wechatpay, wechat_paid):
    check = reconciliation.check_bill("wechat", today(fake_wechatpay))

    assert differences(check) == set()
    assert check.gateway_lines == 1


def test_the_daily_task_checks_every_real_gateway(fake_alipay, alipay_paid):
    from payments.tasks import check_bills

    assert check_bills(today(fake_alipay).isoformat()) == {"alipay": 0}


def test_finance_exports_the_differences_as_csv(admin_client, fake_alipay, alipay_paid):
    fake_alipay.trades[alipay_paid.reference]["total_amount"] = "0.01"
    reconciliation.check_bill("alipay", today(fake_alipay))
    columns = ("day", "gateway", "kind", "line_kind", "reference", "our_amount", "gateway_amount")

    response = admin_client.post(
        "/admin/payments/billdifference/export/",
        {"format": "0", "resource": "0", **{f"differenceresource_{c}": "on" for c in columns}},
    )

    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    assert alipay_paid.reference in text and "金额不一致" in text and "0.01" in text


def test_a_refund_notification_for_a_refund_we_never_asked_for_is_refused(
    client, fake_wechatpay, wechat_paid
):
    from tests.fakes.wechatpay import django_headers

    resource = {
        "mchid": fake_wechatpay.mchid,
        "out_trade_no": wechat_paid.reference,
        "transaction_id": wechat_paid.gateway_trade_no,
        "out_refund_no": f"{wechat_paid.reference}-R09",
        "refund_id": "50000000000000000000000000009",
        "refund_status": "SUCCESS",
        "amount": {"total": 10000, "refund": 10000, "payer_total": 10000, "payer_refund": 10000},
    }
    headers, body = fake_wechatpay.event(
        "REFUND.SUCCESS", "退款成功", "refund", resource, associated_data="refund"
    )

    response = client.post(
        "/payments/notify/wechat/refund/",
        body,
        content_type="application/json",
        **django_headers(headers),
    )

    assert response.status_code == 400
    assert not Refund.objects.exists()
    wechat_paid.refresh_from_db()
    assert wechat_paid.status == Payment.Status.SUCCEEDED
