"""Checkout with coupons, sale prices and gifts: the best coupon preselected, another
or none chosen, what the page shows is what the order keeps, and bad coupon input
changes nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from catalog.models import Variant
from marketing import coupons
from marketing.models import Coupon, CouponClaim, GiftRule, TimedDiscount
from orders import services
from orders.models import Order, ShippingSettings
from tests.accounts.helpers import saved_address
from tests.orders.test_cart_queries import CHECKOUT_PAGE

D = Decimal
CHECKOUT = reverse("orders:checkout")


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def make_coupon(db):
    def make(name, amount, threshold, **fields):
        now = timezone.now()
        return Coupon.objects.create(
            name=name,
            kind=Coupon.Kind.AMOUNT_OFF,
            amount=D(amount),
            threshold=D(threshold),
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=7),
            **fields,
        )

    return make


@pytest.fixture
def wine(make_variant):
    return make_variant(price="60.00", stock=10)


@pytest.fixture
def shopping(client, shopper, wine):
    """A signed-in shopper with a saved address and 2 × ¥60 in the cart."""
    ShippingSettings.objects.update_or_create(
        pk=1, defaults={"flat_fee": D("8.00"), "free_above": D("100.00")}
    )
    saved_address(shopper)
    client.force_login(shopper)
    client.post(reverse("orders:cart_add"), {"variant": wine.pk, "quantity": 2})
    return shopper


@pytest.fixture
def held(shopping, make_coupon):
    """The shopper's coupons: ¥10 off 100, ¥15 off 120 (the best), ¥50 off 300 (not reached)."""
    return [
        coupons.claim(shopping, make_coupon(name, amount, threshold))
        for name, amount, threshold in (
            ("满100减10", "10.00", "100.00"),
            ("满120减15", "15.00", "120.00"),
            ("满300减50", "50.00", "300.00"),
        )
    ]


def open_checkout(client, **params):
    response = client.get(CHECKOUT, params)
    assert response.status_code == 200
    return response


def place(client, shopper, coupon, **params):
    data = {
        "address": shopper.addresses.get().pk,
        "checkout_token": client.session["checkout_token"],
        "coupon": coupon,
    }
    return client.post(reverse("orders:checkout") + params.pop("query", ""), data)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_best_usable_coupon_is_preselected_and_the_others_say_why_not(client, held):
    _ten, fifteen, fifty = held

    response = open_checkout(client)

    quote = response.context["priced"].quote
    assert quote.chosen.claim == fifteen
    assert response.context["chosen_coupon"] == str(fifteen.pk)
    page = response.content.decode()
    assert f'name="coupon" value="{fifteen.pk}"' in page  # the order form carries it
    assert f'value="{fifty.pk}" disabled' in page and "Add ¥180.00 more" in page
    # 120.00 of goods less 15.00; shipping on what is left (105.00 >= 100.00: free)
    assert "-¥15.00" in page and "¥105.00" in page
    assert response.context["priced"].total == D("105.00")


def test_choosing_another_coupon_or_none_reprices_and_places_with_that_choice(
    client, shopping, held, wine
):
    ten, fifteen, _fifty = held

    with_ten = open_checkout(client, coupon=ten.pk).context["priced"]
    without = open_checkout(client, coupon="").context["priced"]

    assert (with_ten.quote.coupon_discount, with_ten.total) == (D("10.00"), D("110.00"))
    # no coupon: 120.00 of goods, free shipping
    assert (without.quote.coupon_discount, without.total) == (D("0.00"), D("120.00"))
    response = place(client, shopping, str(ten.pk), query=f"?coupon={ten.pk}")
    order = Order.objects.get()
    assert response.url == order.get_absolute_url()
    assert (order.coupon_discount, order.total) == (D("10.00"), D("110.00"))
    assert order.coupon_claim == ten
    assert CouponClaim.objects.get(pk=fifteen.pk).order is None


def test_placing_with_no_coupon_keeps_every_coupon(client, shopping, held):
    open_checkout(client, coupon="")

    place(client, shopping, "")

    order = Order.objects.get()
    assert order.coupon_discount == D("0.00")
    assert not CouponClaim.objects.filter(order__isnull=False).exists()


def test_the_discounted_goods_decide_the_shipping(client, shopping, make_coupon):
    coupons.claim(shopping, make_coupon("满100减30", "30.00", "100.00"))

    priced = open_checkout(client).context["priced"]

    # 120.00 - 30.00 = 90.00, below the free-shipping 100.00: 8.00 shipping
    assert (priced.quote.subtotal, priced.shipping, priced.total) == (
        D("90.00"),
        D("8.00"),
        D("98.00"),
    )
    place(client, shopping, str(priced.quote.chosen.claim.pk))
    order = Order.objects.get()
    assert (order.subtotal, order.shipping_fee, order.total) == (
        D("90.00"),
        D("8.00"),
        D("98.00"),
    )


@pytest.mark.parametrize("bad", ["abc", "-1", "99999999999999999999999", "12.5", "best"])
def test_bad_coupon_input_places_nothing_and_says_why(client, shopping, held, wine, bad):
    open_checkout(client)

    response = place(client, shopping, bad)

    assert response.status_code == 200
    assert "Choose one of your coupons, or none." in response.content.decode()
    assert not Order.objects.exists()
    assert Variant.objects.get(pk=wine.pk).stock == 10
    assert not CouponClaim.objects.filter(order__isnull=False).exists()


def test_a_coupon_id_that_is_nobodys_places_nothing_and_says_why(client, shopping, held, wine):
    open_checkout(client)

    response = place(client, shopping, str(held[2].pk + 1000))

    assert any("not yours" in m for m in messages_of(response))
    assert not Order.objects.exists()
    assert Variant.objects.get(pk=wine.pk).stock == 10


def test_a_coupon_below_its_threshold_places_nothing_and_says_what_is_missing(
    client, shopping, held, wine
):
    fifty = held[2]
    open_checkout(client)

    response = place(client, shopping, str(fifty.pk))

    assert any("Add ¥180.00 more" in m for m in messages_of(response))
    assert not Order.objects.exists()
    assert Variant.objects.get(pk=wine.pk).stock == 10
    # the page again, with the best coupon that can be used
    assert response.context["priced"].quote.chosen.claim == held[1]


def test_a_coupon_in_the_url_that_cannot_be_used_says_why_and_offers_the_best(
    client, shopping, held
):
    response = open_checkout(client, coupon=held[2].pk)

    assert any("Add ¥180.00 more" in m for m in messages_of(response))
    assert response.context["priced"].quote.chosen.claim == held[1]


def test_someone_elses_coupon_is_not_found_at_checkout(
    client, shopping, make_user, make_coupon, wine
):
    theirs = coupons.claim(make_user("someone"), make_coupon("满100减10", "10.00", "100.00"))
    open_checkout(client)

    looked_at = client.get(CHECKOUT, {"coupon": theirs.pk})
    placed = place(client, shopping, str(theirs.pk))

    assert (looked_at.status_code, placed.status_code) == (404, 404)
    assert not Order.objects.exists()
    assert Variant.objects.get(pk=wine.pk).stock == 10
    assert CouponClaim.objects.get(pk=theirs.pk).order is None


def test_a_coupon_already_used_is_refused_as_used(client, shopping, held, wine, address):
    fifteen = held[1]
    open_checkout(client)
    services.place_order(shopping, [(wine.pk, 2)], address=address, coupon=fifteen.pk)

    response = place(client, shopping, str(fifteen.pk))

    assert any("already used" in m for m in messages_of(response))


def test_sale_prices_show_struck_through_in_the_cart_and_at_checkout(client, shopping, wine):
    sale = TimedDiscount.objects.create(
        name="秒杀",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    sale.items.create(variant=wine, price=D("50.00"))

    cart = client.get(reverse("orders:cart")).content.decode()
    checkout = open_checkout(client)

    assert '<s class="list-price">¥60.00</s>' in cart and "¥100.00" in cart
    page = checkout.content.decode()
    assert '<s class="list-price">¥120.00</s>' in page and "-¥20.00" in page
    assert checkout.context["priced"].total == D("100.00")


def test_gifts_reached_are_shown_and_a_gift_out_of_stock_is_said_after_placing(
    client, shopping, make_variant
):
    glass = make_variant(price="20.00", stock=1)
    opener = make_variant(price="10.00", stock=0)
    GiftRule.objects.create(
        name="送酒杯", threshold=D("100.00"), gift=glass, starts_at=timezone.now()
    )
    GiftRule.objects.create(
        name="送开瓶器", threshold=D("100.00"), gift=opener, starts_at=timezone.now()
    )

    page = open_checkout(client).content.decode()
    response = place(client, shopping, "")

    assert glass.product.display_name in page and "All given away" in page
    order = Order.objects.get()
    assert order.lines.filter(is_gift=True, variant=glass).exists()
    assert any("given away: 送开瓶器" in m for m in messages_of(response))
    detail = client.get(order.get_absolute_url()).content.decode()
    assert "Gift" in detail


def test_the_order_page_shows_list_prices_discounts_and_what_was_paid(client, shopping, held, wine):
    open_checkout(client)
    place(client, shopping, str(held[1].pk))

    page = client.get(Order.objects.get().get_absolute_url()).content.decode()

    assert "Goods at list price" in page and "¥120.00" in page
    assert "Coupon" in page and "-¥15.00" in page
    # the line's share of the coupon and its paid amount
    assert "-¥15.00" in page and "¥105.00" in page and "Amount to pay" in page


# the checkout page with coupons: two more queries than without, for the categories
# and products the shopper's coupons cover (tests/orders/test_cart_queries.py)
CHECKOUT_WITH_COUPONS = CHECKOUT_PAGE + 2


@pytest.mark.parametrize("count", [1, 6])
def test_the_checkout_page_with_coupons_has_a_fixed_number_of_queries(
    client, shopping, make_coupon, category, count, django_assert_num_queries
):
    for n in range(count):
        coupon = make_coupon(f"满100减{n + 1}", f"{n + 1}.00", "100.00")
        coupon.scope = Coupon.Scope.CATEGORIES
        coupon.save()
        coupon.categories.add(category)
        coupons.claim(shopping, coupon)

    with django_assert_num_queries(CHECKOUT_WITH_COUPONS):
        response = client.get(CHECKOUT)

    assert len(response.context["priced"].quote.options) == count
    assert response.context["priced"].quote.chosen.discount == D(f"{count}.00")
