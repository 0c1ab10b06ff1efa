"""Bad input gets a clear message and changes nothing; other people's orders are 404."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from catalog import inventory
from commissions.models import Commission
from orders import services
from orders.cart import SESSION_KEY
from orders.models import Order
from payments import services as payment_services

pytestmark = pytest.mark.django_db


def add(client, variant_id, quantity):
    response = client.post(
        reverse("orders:cart_add"), {"variant": variant_id, "quantity": quantity}
    )
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "at least 1"),
        ("-3", "at least 1"),
        ("two", "whole number"),
        ("11", "Only 10 left"),
        ("100000000000000000000", "at most 99"),
    ],
)
def test_bad_quantities_are_refused_with_a_message(client, variant, quantity, message, settings):
    settings.LANGUAGE_CODE = "en"
    messages = add(client, variant.pk, quantity)
    assert any(message in m for m in messages), messages
    assert not client.session.get(SESSION_KEY)


def test_an_unknown_variant_is_refused(client, settings):
    settings.LANGUAGE_CODE = "en"
    assert any("not available" in m for m in add(client, 999_999, 1))
    assert not client.session.get(SESSION_KEY)


def test_adding_more_than_the_stock_across_two_adds_is_refused(client, variant, settings):
    settings.LANGUAGE_CODE = "en"
    add(client, variant.pk, 8)
    assert any("Only 10 left" in m for m in add(client, variant.pk, 3))
    assert client.session[SESSION_KEY] == {str(variant.pk): 8}


def test_the_cart_survives_signing_in(client, variant, shopper):
    add(client, variant.pk, 2)
    client.post(reverse("accounts:login"), {"username": "shopper", "password": "pw-123456-long"})
    assert client.session[SESSION_KEY] == {str(variant.pk): 2}


def test_messages_are_in_chinese_by_default(client, variant):
    assert "数量不能少于 1。" in add(client, variant.pk, 0)


def test_checkout_with_an_expired_cart_line_changes_nothing(client, variant, shopper):
    client.force_login(shopper)
    add(client, variant.pk, 5)
    inventory.set_stock(variant, 2, actor=None, reason="stock-take")
    client.get(reverse("orders:checkout"))
    response = client.post(
        reverse("orders:checkout"),
        {
            "address": "new",
            "new-recipient_name": "张三",
            "new-phone": "13800138000",
            "new-province": "上海市",
            "new-city": "上海市",
            "new-district": "浦东新区",
            "new-detail": "世纪大道 100 号",
            "checkout_token": client.session["checkout_token"],
        },
    )
    assert response.url == reverse("orders:cart")
    assert not Order.objects.exists()
    variant.refresh_from_db()
    assert variant.stock == 2


@pytest.fixture
def someone_elses_order(make_user, variant, address):
    return services.place_order(make_user("other"), [(variant.pk, 1)], address=address)


def test_another_shoppers_order_is_not_found(client, shopper, someone_elses_order):
    client.force_login(shopper)
    number = someone_elses_order.number
    assert client.get(reverse("orders:detail", args=[number])).status_code == 404
    assert client.post(reverse("orders:cancel", args=[number])).status_code == 404
    assert client.post(reverse("payments_pages:start", args=[number])).status_code == 404
    someone_elses_order.refresh_from_db()
    assert someone_elses_order.status == Order.Status.PENDING_PAYMENT


def test_another_shoppers_payment_page_is_not_found(client, shopper, someone_elses_order):
    payment = payment_services.start_payment(someone_elses_order, gateway_code="sandbox")
    client.force_login(shopper)
    url = reverse("payments_pages:sandbox", args=[payment.reference])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404


def test_another_distributors_commission_is_not_found(client, chain, variant, address, shopper):
    alice, bob, carol = chain
    order = services.place_order(
        shopper, [(variant.pk, 1)], address=address, referral_code=carol.invite_code
    )
    services.mark_paid(order)
    from commissions.services import accrue_commissions

    accrue_commissions(order.pk)
    carols = Commission.objects.get(distributor=carol)
    client.force_login(alice.user)
    assert client.get(reverse("commissions:detail", args=[carols.pk])).status_code == 404
    client.force_login(carol.user)
    page = client.get(reverse("commissions:detail", args=[carols.pk]))
    assert page.status_code == 200 and page.context["commission"].amount == Decimal("10.00")


def test_earnings_page_needs_a_distributor(client, shopper):
    client.force_login(shopper)
    response = client.get(reverse("commissions:earnings"))
    assert response.url == reverse("distributors:join")


def test_checking_out_twice_with_the_same_new_address_keeps_one_copy(client, variant, shopper):
    from accounts.models import Address

    from .checkout_helpers import NEW_ADDRESS

    client.force_login(shopper)
    for detail in ("建国路 1 号", " 建国路 1 号 "):
        add(client, variant.pk, 1)
        client.get(reverse("orders:checkout"))
        response = client.post(
            reverse("orders:checkout"),
            {
                **NEW_ADDRESS,
                "new-detail": detail,
                "checkout_token": client.session["checkout_token"],
            },
        )
        assert response.status_code == 302

    assert Order.objects.filter(user=shopper).count() == 2
    assert Address.objects.filter(user=shopper).count() == 1
    assert {o.shipping_address for o in Order.objects.all()} == {
        Address.objects.get(user=shopper).one_line
    }
