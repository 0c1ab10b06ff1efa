"""Checkout: an address from the book (or a new one), server totals, one order per token."""

import re
import time
import uuid
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import Address
from orders.cart import SESSION_KEY
from orders.models import Order, ShippingSettings
from orders.views import CHECKOUT_ISSUED_KEY
from tests.accounts.helpers import saved_address
from tests.orders.checkout_helpers import NEW_ADDRESS


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def book(shopper):
    """Two saved addresses; the second is the default."""
    first = saved_address(shopper, phone="13900000001")
    home = saved_address(
        shopper, "浙江省 杭州市 西湖区 文三路1号", phone="13900000002", make_default=True
    )
    return first, home


@pytest.fixture
def shopping(client, shopper, make_variant):
    """A signed-in shopper with 2 × ¥50 in the cart, on the checkout page."""
    variant = make_variant(price="50.00", stock=10)
    client.force_login(shopper)
    client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 2})
    return variant


def open_checkout(client):
    response = client.get(reverse("orders:checkout"))
    assert response.status_code == 200
    return response, client.session["checkout_token"]


def place(client, token, **data):
    return client.post(reverse("orders:checkout"), {"checkout_token": token, **data})


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_default_address_is_preselected(client, shopping, book):
    response, _token = open_checkout(client)
    _first, home = book

    assert re.search(rf'value="{home.pk}"[^>]*checked', response.content.decode())


def test_without_saved_addresses_a_new_one_is_asked_for(client, shopping):
    response, _token = open_checkout(client)
    assert re.search(r'value="new"[^>]*checked', response.content.decode())


def test_an_order_ships_to_the_chosen_saved_address(client, shopping, book):
    first, _home = book
    _response, token = open_checkout(client)

    response = place(client, token, address=first.pk, note="请下午送")

    order = Order.objects.get()
    assert response.url == order.get_absolute_url()
    assert (order.recipient_phone, order.shipping_address, order.note) == (
        "13900000001",
        "上海市 上海市 浦东新区 世纪大道100号",
        "请下午送",
    )
    assert client.session.get(SESSION_KEY) == {}


def test_a_new_address_is_saved_to_the_book(client, shopping, shopper):
    _response, token = open_checkout(client)

    place(client, token, **NEW_ADDRESS)

    saved = Address.objects.get(user=shopper)
    assert saved.is_default
    assert Order.objects.get().shipping_address == saved.one_line


def test_a_bad_new_address_places_nothing_and_saves_nothing(client, shopping):
    _response, token = open_checkout(client)

    response = place(client, token, **{**NEW_ADDRESS, "new-phone": "12", "new-detail": ""})

    assert response.status_code == 200
    page = response.content.decode()
    assert "11-digit mainland mobile number" in page
    assert "This field is required." in page
    assert not Order.objects.exists()
    assert not Address.objects.exists()


def test_someone_elses_address_is_refused_clearly(client, shopping, make_user):
    theirs = saved_address(make_user("other"), "广东省 深圳市 南山区 科技园")
    _response, token = open_checkout(client)

    response = place(client, token, address=theirs.pk)

    assert response.status_code == 200
    assert "not in your address book" in response.content.decode()
    assert not Order.objects.exists()
    shopping.refresh_from_db()
    assert shopping.stock == 10


def test_totals_are_computed_on_the_server_and_shown(client, shopping, book):
    ShippingSettings.objects.update_or_create(
        pk=1, defaults={"flat_fee": Decimal("8.00"), "free_above": Decimal("299.00")}
    )
    response, token = open_checkout(client)
    page = response.content.decode()
    assert "¥100.00" in page and "¥8.00" in page and "¥108.00" in page

    place(client, token, address=book[1].pk, subtotal="0.01", total="0.01")

    order = Order.objects.get()
    assert (order.subtotal, order.shipping_fee, order.total) == (
        Decimal("100.00"),
        Decimal("8.00"),
        Decimal("108.00"),
    )


def test_a_reused_token_shows_the_order_it_made(client, shopping, book):
    _response, token = open_checkout(client)
    first = place(client, token, address=book[1].pk)

    again = place(client, token, address=book[1].pk)

    order = Order.objects.get()
    assert first.url == again.url == order.get_absolute_url()
    assert "already placed" in " ".join(messages_of(again))
    shopping.refresh_from_db()
    assert shopping.stock == 8


def test_a_reused_token_with_a_refilled_cart_places_no_second_order(client, shopping, book):
    _response, token = open_checkout(client)
    place(client, token, address=book[1].pk)
    client.post(reverse("orders:cart_add"), {"variant": shopping.pk, "quantity": 1})

    response = place(client, token, address=book[1].pk)

    assert Order.objects.count() == 1
    assert response.url == Order.objects.get().get_absolute_url()
    assert client.session[SESSION_KEY] == {str(shopping.pk): 1}


def test_an_expired_token_places_nothing_and_says_why(client, shopping, book):
    _response, token = open_checkout(client)
    session = client.session
    timeout = ShippingSettings.get_solo().unpaid_timeout.total_seconds()
    session[CHECKOUT_ISSUED_KEY] = time.time() - timeout - 1
    session.save()

    response = place(client, token, address=book[1].pk)

    assert response.url == reverse("orders:checkout")
    assert "expired" in " ".join(messages_of(response))
    assert not Order.objects.exists()
    assert client.session["checkout_token"] != token  # a fresh one for the next try


def test_a_token_this_session_was_not_given_places_nothing(client, shopping, book):
    open_checkout(client)

    response = place(client, str(uuid.uuid4()), address=book[1].pk)

    assert "expired" in " ".join(messages_of(response))
    assert not Order.objects.exists()


@pytest.mark.parametrize("token", ["", "abc", "123"])
def test_a_malformed_token_places_nothing(client, shopping, book, token):
    open_checkout(client)

    response = place(client, token, address=book[1].pk)

    assert response.status_code == 200
    assert "checkout session has expired" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize("address", ["", "abc", "-1", "999999"])
def test_a_bad_address_choice_places_nothing(client, shopping, book, address):
    _response, token = open_checkout(client)

    response = place(client, token, address=address)

    assert response.status_code == 200
    assert not Order.objects.exists()
    page = response.content.decode()
    assert "Choose where to ship" in page or "not in your address book" in page
