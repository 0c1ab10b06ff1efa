"""Real gateway notifications delivered many times at once (PostgreSQL, real threads)."""

from collections import Counter

import pytest
from django.test import Client
from django.urls import reverse

from orders.models import Order, OrderEvent
from payments.models import Payment, PaymentNotification
from tests.payments.alipay_fixtures import make_alipay_payment
from tests.test_concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_one_alipay_notification_delivered_fifty_times_at_once_pays_once(fake_alipay, alipay_order):
    # given: a payment the shopper paid at Alipay, and its one signed notification
    payment = make_alipay_payment(alipay_order)
    fake_alipay.create_trade(payment.reference, f"{payment.amount:.2f}")
    params = fake_alipay.pay(payment.reference, deliver=False)
    url = reverse("payments:notify", args=["alipay"])

    # when: Alipay's servers deliver it 50 times at the same moment
    responses = run_at_once(lambda _: Client().post(url, params), range(50))

    # then: every delivery is answered success, the order is paid once
    failures = [r for r in responses if getattr(r, "status_code", None) != 200]
    assert not failures, failures[:3]
    assert {r.content for r in responses} == {b"success"}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert OrderEvent.objects.filter(order=alipay_order, to_status=Order.Status.PAID).count() == 1
    outcomes = Counter(
        PaymentNotification.objects.filter(payment=payment).values_list("outcome", flat=True)
    )
    assert outcomes == {"paid": 1, "duplicate": 49}
