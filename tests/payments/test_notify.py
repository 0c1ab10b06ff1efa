from decimal import Decimal

import pytest
from django.urls import reverse

from orders import services as order_services
from orders.models import Order
from payments.gateways import sandbox

pytestmark = pytest.mark.django_db
NOTIFY = reverse("payments:notify", args=["sandbox"])


def test_a_signed_notification_marks_the_order_paid(client, payment):
    response = client.post(NOTIFY, sandbox.build_notification(payment))
    assert (response.status_code, response.content) == (200, b"success")
    payment.order.refresh_from_db()
    assert payment.order.status == Order.Status.PAID


def test_a_duplicate_notification_is_acknowledged_and_changes_nothing(client, payment):
    payload = sandbox.build_notification(payment)
    client.post(NOTIFY, payload)
    response = client.post(NOTIFY, payload)
    assert response.content == b"success"
    assert payment.order.events.filter(to_status="paid").count() == 1


def test_a_forged_signature_is_rejected_and_changes_nothing(client, payment):
    forged = sandbox.build_notification(payment, secret="not-the-merchants-key")
    response = client.post(NOTIFY, forged)
    assert (response.status_code, response.content) == (400, b"fail")
    payment.refresh_from_db()
    assert payment.status == "created" and payment.order.status == Order.Status.PENDING_PAYMENT


def test_a_tampered_amount_breaks_the_signature(client, payment):
    payload = sandbox.build_notification(payment)
    payload["total_amount"] = "0.01"
    assert client.post(NOTIFY, payload).status_code == 400
    payment.order.refresh_from_db()
    assert payment.order.status == Order.Status.PENDING_PAYMENT


def test_a_signed_notification_for_the_wrong_amount_is_rejected(client, payment):
    payment.amount = Decimal("1.00")  # the gateway signs what it charged: 1.00
    payload = sandbox.build_notification(payment)
    response = client.post(NOTIFY, payload)
    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.status == "created"


def test_a_notification_for_an_unknown_payment_is_rejected(client, payment):
    payment.reference = "PNOSUCHPAYMENT"
    assert client.post(NOTIFY, sandbox.build_notification(payment)).status_code == 400


def test_money_for_a_cancelled_order_is_refunded(client, payment):
    order_services.cancel_order(payment.order, reason="payment timeout")
    response = client.post(NOTIFY, sandbox.build_notification(payment))
    assert response.content == b"success"  # taken, so the gateway stops retrying
    payment.refresh_from_db()
    assert payment.status == "refunded" and payment.refund_reference
    payment.order.refresh_from_db()
    assert payment.order.status == Order.Status.CANCELLED


def test_signature_covers_sorted_fields_without_sign(settings):
    settings.SANDBOX_GATEWAY_SECRET = "k"
    params = {"b": "2", "a": "1", "empty": "", "sign_type": "HMAC-SHA256"}
    assert sandbox.signing_string(params) == "a=1&b=2"
    import hashlib
    import hmac

    assert sandbox.sign(params) == hmac.new(b"k", b"a=1&b=2", hashlib.sha256).hexdigest()
