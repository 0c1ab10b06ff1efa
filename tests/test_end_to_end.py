"""The whole spine through HTTP: referral link -> cart -> checkout -> sandbox
payment (notified twice) -> ship -> complete -> commissions on earnings pages."""

from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from commissions.models import Commission
from orders.models import Order
from payments.gateways import sandbox
from payments.models import Payment, PaymentNotification
from tests.orders.checkout_helpers import NEW_ADDRESS


@pytest.fixture
def gateway_deliveries(monkeypatch):
    """Stand in for the sandbox gateway's servers: deliver to our notify view over
    the test client (a client of its own: no cookies, no session), keeping every
    payload so the test can deliver one again."""
    delivered = []
    gateway = Client()

    def post_form(url, params, timeout=10):
        delivered.append(params)
        response = gateway.post(urlsplit(url).path, params)
        return response.status_code, response.content.decode()

    monkeypatch.setattr(sandbox, "post_form", post_form)
    return delivered, gateway


def login_client(username, password="pw-123456-long"):
    client = Client()
    assert client.login(username=username, password=password)
    return client


@pytest.mark.django_db(transaction=True)
def test_referred_purchase_pays_two_levels_of_commission(
    make_user, make_variant, chain, gateway_deliveries, django_user_model
):
    alice, bob, carol = chain
    baijiu = make_variant(price="168.00", stock=10)
    wine = make_variant(price="89.00", stock=10)
    delivered, gateway = gateway_deliveries
    make_user("dave")
    shopper = Client()

    # given a shopper who followed carol's link and signed in
    assert shopper.get(reverse("referral", args=[carol.invite_code])).status_code == 302
    assert shopper.cookies["ref"].value == carol.invite_code
    assert shopper.login(username="dave", password="pw-123456-long")

    # when they buy two items and pay in the sandbox
    for variant in (baijiu, wine):
        shopper.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 1})
    assert shopper.get(reverse("orders:checkout")).status_code == 200
    response = shopper.post(
        reverse("orders:checkout"),
        {**NEW_ADDRESS, "checkout_token": shopper.session["checkout_token"]},
    )
    order = Order.objects.get(user__username="dave")
    assert response.url == order.get_absolute_url()
    assert (order.subtotal, order.total) == (Decimal("257.00"), Decimal("257.00"))

    response = shopper.post(reverse("payments_pages:start", args=[order.number]))
    payment = Payment.objects.get(order=order)
    response = shopper.get(response.url)  # the payment's page sends the shopper on
    assert response.url == reverse("payments_pages:sandbox", args=[payment.reference])
    assert shopper.post(response.url).status_code == 302

    # the gateway notifies, then delivers the same notification again
    assert len(delivered) == 1
    again = gateway.post(reverse("payments:notify", args=["sandbox"]), delivered[0])
    assert (again.status_code, again.content) == (200, b"success")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.events.filter(to_status="paid").count() == 1
    assert PaymentNotification.objects.filter(payment=payment).count() == 2
    assert Commission.objects.filter(order=order).count() == 2

    # the merchant ships and completes in the admin
    django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-123456-long")
    admin = login_client("boss")
    admin.post(
        reverse("admin:orders_order_ship", args=[order.pk]),
        {"carrier": "顺丰速运", "tracking_number": "SF1234567890"},
    )
    admin.post(
        reverse("admin:orders_order_changelist"),
        {"action": "complete_orders", "_selected_action": [order.pk]},
    )
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (Order.Status.COMPLETED, "SF1234567890")

    # then carol (level 1, 10%) and bob (level 2, 5%) see it on their earnings page
    for distributor, expected in ((carol, "25.70"), (bob, "12.85")):
        page = login_client(distributor.user.username).get(reverse("commissions:earnings"))
        summary = page.context["summary"]
        assert (summary.available, summary.pending) == (Decimal(expected), Decimal("0.00"))
        assert f"¥{expected}" in page.content.decode()
        assert order.number in page.content.decode()

    # and alice, a third level up, earns nothing under the two-level plan
    page = login_client("alice").get(reverse("commissions:earnings"))
    assert page.context["summary"].total == Decimal("0.00")
    assert order.number not in page.content.decode()
