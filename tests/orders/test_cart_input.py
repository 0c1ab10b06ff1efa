"""Bad cart input: a clear, translated message and an unchanged cart."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from catalog.models import Product
from orders.cart import SESSION_KEY
from orders.models import Order
from tests.accounts.helpers import saved_address


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def post(client, name, **data):
    response = client.post(reverse(name), data)
    assert response.status_code == 302
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def cart_of(client):
    return client.session.get(SESSION_KEY, {})


BAD_QUANTITIES = [
    ("0", "at least 1"),
    ("-1", "at least 1"),
    (str(10**12), "at most 99"),
    ("abc", "whole number"),
    ("1.5", "whole number"),
    ("", "required"),
]


@pytest.mark.parametrize(("quantity", "message"), BAD_QUANTITIES)
def test_adding_a_bad_quantity_changes_nothing(client, variant, quantity, message):
    post(client, "orders:cart_add", variant=variant.pk, quantity=1)

    said = post(client, "orders:cart_add", variant=variant.pk, quantity=quantity)

    assert message in said
    assert cart_of(client) == {str(variant.pk): 1}


@pytest.mark.parametrize(
    ("quantity", "message"),
    [("-1", "cannot be negative"), (str(10**12), "at most 99"), ("abc", "whole number")],
)
def test_updating_to_a_bad_quantity_changes_nothing(client, variant, quantity, message):
    post(client, "orders:cart_add", variant=variant.pk, quantity=2)

    said = post(client, "orders:cart_update", variant=variant.pk, quantity=quantity)

    assert message in said
    assert cart_of(client) == {str(variant.pk): 2}


def test_updating_to_zero_removes_the_line(client, variant):
    post(client, "orders:cart_add", variant=variant.pk, quantity=2)
    post(client, "orders:cart_update", variant=variant.pk, quantity=0)
    assert cart_of(client) == {}


def test_updating_above_the_stock_changes_nothing(client, variant):
    post(client, "orders:cart_add", variant=variant.pk, quantity=2)
    assert "Only 10 left" in post(client, "orders:cart_update", variant=variant.pk, quantity=11)
    assert cart_of(client) == {str(variant.pk): 2}


def test_updating_a_line_not_in_the_cart_is_refused(client, variant):
    assert "not in your cart" in post(client, "orders:cart_update", variant=variant.pk, quantity=1)
    assert cart_of(client) == {}


@pytest.mark.parametrize("name", ["orders:cart_add", "orders:cart_update"])
@pytest.mark.parametrize(
    ("variant_id", "message"),
    [("999999", "not available"), ("abc", "whole number"), ("", "required"), ("-5", "")],
)
def test_an_unknown_variant_changes_nothing(client, variant, name, variant_id, message):
    post(client, "orders:cart_add", variant=variant.pk, quantity=1)

    said = post(client, name, variant=variant_id, quantity=1)

    assert said and message in said
    assert cart_of(client) == {str(variant.pk): 1}


@pytest.mark.parametrize("name", ["orders:cart_add", "orders:cart_update"])
def test_a_variant_of_an_inactive_product_changes_nothing(client, variant, name):
    post(client, "orders:cart_add", variant=variant.pk, quantity=1)
    Product.objects.filter(pk=variant.product_id).update(is_active=False)

    said = post(client, name, variant=variant.pk, quantity=3)

    assert "not available" in said
    assert cart_of(client) == {str(variant.pk): 1}


def test_an_inactive_variant_cannot_be_added(client, make_variant):
    variant = make_variant(is_active=False)
    assert "not available" in post(client, "orders:cart_add", variant=variant.pk, quantity=1)
    assert cart_of(client) == {}


def test_a_line_gone_inactive_is_not_sold_at_checkout(client, shopper, make_variant):

    kept, dropped = make_variant(price="10.00"), make_variant(price="20.00")
    client.force_login(shopper)
    post(client, "orders:cart_add", variant=kept.pk, quantity=1)
    post(client, "orders:cart_add", variant=dropped.pk, quantity=1)
    Product.objects.filter(pk=dropped.product_id).update(is_active=False)
    address = saved_address(shopper)
    client.get(reverse("orders:checkout"))

    client.post(
        reverse("orders:checkout"),
        {"address": address.pk, "checkout_token": client.session["checkout_token"]},
    )

    assert list(Order.objects.get().lines.values_list("variant_id", flat=True)) == [kept.pk]
