"""What an attacker can send to a notify URL, or make our own worker send: refused.

Stale or replayed sandbox notifications, bodies too large to read, and callback
URLs taken from a Host header the client wrote.
"""

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from payments import services
from payments.gateways import sandbox
from payments.models import PaymentNotification

pytestmark = pytest.mark.django_db
NOTIFY = reverse("payments:notify", args=["sandbox"])


def test_a_sandbox_notification_signed_long_ago_is_refused(client, payment):
    # given: a genuine notification captured 11 minutes ago (the limit is 10)
    old = sandbox.build_notification(payment, sent_at=timezone.now() - timedelta(minutes=11))
    # when
    response = client.post(NOTIFY, old)
    # then
    assert (response.status_code, response.content) == (400, b"fail")
    payment.order.refresh_from_db()
    assert payment.order.status == Order.Status.PENDING_PAYMENT


def test_a_sandbox_notification_of_a_few_minutes_ago_is_taken(client, payment):
    recent = sandbox.build_notification(payment, sent_at=timezone.now() - timedelta(minutes=3))
    assert client.post(NOTIFY, recent).content == b"success"
    payment.order.refresh_from_db()
    assert payment.order.status == Order.Status.PAID


def test_a_sandbox_notification_without_a_time_is_refused(client, payment):
    params = sandbox.build_notification(payment)
    del params["notify_time"]
    params["sign"] = sandbox.sign(params)
    assert client.post(NOTIFY, params).status_code == 400


def test_a_replayed_sandbox_notify_id_is_a_duplicate(client, payment):
    payload = sandbox.build_notification(payment)
    client.post(NOTIFY, payload)
    assert client.post(NOTIFY, payload).content == b"success"
    assert list(
        PaymentNotification.objects.filter(payment=payment)
        .order_by("pk")
        .values_list("outcome", flat=True)
    ) == ["paid", "duplicate"]
    assert PaymentNotification.objects.filter(notification_id=payload["notify_id"]).count() == 1


@pytest.mark.parametrize("kind", [None, "refund"])
def test_a_notification_body_over_64_kib_is_refused_unread(client, payment, kind):
    url = NOTIFY if kind is None else reverse("payments:notify_kind", args=["wechat", kind])
    response = client.post(
        url, data=b"x" * (64 * 1024 + 1), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413


def test_a_notification_without_a_length_is_refused(payment):
    from django.test import Client

    # A chunked request reaches Django with no CONTENT_LENGTH.
    response = Client().generic(
        "POST",
        NOTIFY,
        data=b"",
        content_type="application/x-www-form-urlencoded",
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",
    )
    assert response.status_code == 413


def test_a_hostile_host_header_does_not_move_the_notify_or_return_url(settings, payment):
    settings.DEBUG = False
    settings.SITE_URL = "https://shop.example.com"
    settings.PAYMENT_NOTIFY_BASE_URL = ""
    request = RequestFactory().get("/", HTTP_HOST="localhost:22")
    assert services.notify_url("sandbox", request=request) == (
        "https://shop.example.com/payments/notify/sandbox/"
    )
    assert services.return_url(payment, request=request).startswith("https://shop.example.com/")
    settings.PAYMENT_NOTIFY_BASE_URL = "https://notify.example.com/"
    assert services.notify_url("alipay", request=request) == (
        "https://notify.example.com/payments/notify/alipay/"
    )


def test_confirming_the_sandbox_with_a_hostile_host_posts_to_the_site_not_that_port(
    settings, client, shopper, payment, notify_receiver, django_capture_on_commit_callbacks
):
    # given: SITE_URL is where the site really is (here a receiver standing in for it)
    settings.SITE_URL = notify_receiver.url
    client.force_login(shopper)
    # when: the shopper confirms with Host: localhost:22
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("payments_pages:sandbox", args=[payment.reference]), HTTP_HOST="localhost:22"
        )
    # then: the worker's signed notification went to SITE_URL
    assert [form["out_trade_no"] for form in notify_receiver.forms] == [payment.reference]
