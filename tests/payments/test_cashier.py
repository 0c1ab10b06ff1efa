"""The cashier's pages with the sandbox: ownership, the return page, polling."""

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, ShippingSettings
from payments import services
from payments.gateways.sandbox import build_notification
from payments.models import Payment

pytestmark = pytest.mark.django_db


def test_pay_now_with_one_gateway_goes_straight_to_its_page(signed_in, order):
    response = signed_in.post(reverse("payments_pages:start", args=[order.number]))
    payment = Payment.objects.get(order=order)
    assert payment.channel == "sandbox"
    assert response.url == reverse("payments_pages:pay", args=[payment.reference])
    opened = signed_in.get(response.url)
    assert opened.url == reverse("payments_pages:sandbox", args=[payment.reference])


def test_confirming_on_the_sandbox_page_shows_checking_your_payment(signed_in, order):
    payment = services.start_payment(order, gateway_code="sandbox")
    response = signed_in.post(reverse("payments_pages:sandbox", args=[payment.reference]))
    assert response.url == reverse("payments_pages:return", args=[payment.reference])
    page = signed_in.get(response.url)
    assert page.status_code == 200
    assert "data-payment-status" in page.content.decode()


def test_the_status_poll_says_paid_once_the_notification_arrived(signed_in, order):
    payment = services.start_payment(order, gateway_code="sandbox")
    url = reverse("payments_pages:status", args=[payment.reference])
    assert signed_in.get(url).json()["paid"] is False
    signed_in.post(reverse("payments:notify", args=["sandbox"]), build_notification(payment))
    assert signed_in.get(url).json() == {
        "status": "succeeded",
        "paid": True,
        "order_url": order.get_absolute_url(),
    }


def test_the_status_poll_costs_two_queries(signed_in, order, django_assert_max_num_queries):
    payment = services.start_payment(order, gateway_code="sandbox")
    url = reverse("payments_pages:status", args=[payment.reference])
    signed_in.get(url)
    with django_assert_max_num_queries(4):  # session, user, payment with its order
        assert signed_in.get(url).status_code == 200


@pytest.mark.parametrize("page", ["status", "return", "pay", "sandbox"])
def test_another_shoppers_payment_pages_are_not_found(client, make_user, order, page):
    payment = services.start_payment(order, gateway_code="sandbox")
    client.force_login(make_user("mallory"))
    assert (
        client.get(reverse(f"payments_pages:{page}", args=[payment.reference])).status_code == 404
    )


def test_another_shoppers_order_cannot_be_paid_or_shown_a_cashier(client, make_user, order):
    client.force_login(make_user("mallory"))
    assert client.get(reverse("payments_pages:cashier", args=[order.number])).status_code == 404
    assert client.post(reverse("payments_pages:start", args=[order.number])).status_code == 404
    assert not Payment.objects.exists()


def test_an_unknown_way_to_pay_is_not_found_and_opens_nothing(signed_in, order):
    response = signed_in.post(
        reverse("payments_pages:start", args=[order.number]),
        {"gateway": "sandbox", "channel": "native"},
    )
    assert response.status_code == 404
    assert not Payment.objects.exists()


def test_a_paid_order_has_no_cashier(signed_in, order):
    payment = services.start_payment(order, gateway_code="sandbox")
    signed_in.post(reverse("payments:notify", args=["sandbox"]), build_notification(payment))
    response = signed_in.get(reverse("payments_pages:cashier", args=[order.number]))
    assert response.url == order.get_absolute_url()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_reopening_the_qr_code_page_shows_the_same_code_without_a_second_trade(
    signed_in, order, fake_wechatpay
):
    signed_in.post(
        reverse("payments_pages:start", args=[order.number]),
        {"gateway": "wechat", "channel": "native"},
    )
    payment = Payment.objects.get(order=order)
    url = reverse("payments_pages:pay", args=[payment.reference])

    first, again = signed_in.get(url), signed_in.get(url)

    assert b"<svg" in first.content and first.content.count(b"<svg") == again.content.count(b"<svg")
    opened = [r for r in fake_wechatpay.requests if r.path == "/v3/pay/transactions/native"]
    assert len(opened) == 1


def test_a_gateway_out_of_reach_sends_the_shopper_back_to_the_cashier_with_a_message(
    signed_in, order, fake_wechatpay
):
    fake_wechatpay.stop()
    signed_in.post(
        reverse("payments_pages:start", args=[order.number]),
        {"gateway": "wechat", "channel": "native"},
    )
    payment = Payment.objects.get(order=order)

    response = signed_in.get(reverse("payments_pages:pay", args=[payment.reference]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("payments_pages:cashier", args=[order.number])
    assert "暂时无法连接支付平台" in response.content.decode()


def test_an_order_past_its_time_to_pay_is_refused_before_the_cancel_task_ran(signed_in, order):
    timeout = ShippingSettings.get_solo().unpaid_timeout
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timeout)

    response = signed_in.post(reverse("payments_pages:start", args=[order.number]), follow=True)

    # the shopper is told on the order's page; no trade is opened at any gateway
    assert response.redirect_chain[-1][0] == order.get_absolute_url()
    assert "该订单的支付时间已到" in response.content.decode()  # the shop speaks Chinese
    assert not Payment.objects.filter(order=order).exists()
