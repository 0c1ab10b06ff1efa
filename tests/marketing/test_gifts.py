"""Gifts (满赠): an order whose goods reach a threshold gets the gift at 0.00 while it
is in stock, and the admin refuses a gift that could never be given."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from marketing.models import GiftRule, TimedDiscount
from orders import services

pytestmark = pytest.mark.django_db

D = Decimal


def gift_rule(gift, threshold, quantity=1, **extra) -> GiftRule:
    return GiftRule.objects.create(
        name=f"满{threshold}赠",
        threshold=D(threshold),
        gift=gift,
        quantity=quantity,
        starts_at=timezone.now() - timedelta(days=1),
        **extra,
    )


def gift_lines(order):
    return [(line.variant_id, line.quantity) for line in order.lines.filter(is_gift=True)]


@pytest.fixture
def goods(make_variant):
    return make_variant(price="300.00", stock=10)


@pytest.fixture
def gift(make_variant):
    return make_variant(price="39.00", stock=5)


# --- At checkout --------------------------------------------------------------------


def test_reaching_the_threshold_adds_the_gift_at_nothing_and_takes_its_stock(
    shopper, address, goods, gift
):
    gift_rule(gift, "500.00", quantity=2)

    order = services.place_order(shopper, [(goods.pk, 2)], address=address)

    line = order.lines.get(is_gift=True)
    assert (line.variant_id, line.quantity) == (gift.pk, 2)
    assert (line.unit_price, line.line_total, line.paid_amount) == (D("0"), D("0"), D("0"))
    assert order.subtotal == D("600.00")  # the gift adds nothing to pay (nor to commission)
    gift.refresh_from_db()
    assert gift.stock == 3
    assert order.missed_gifts == []


def test_goods_below_the_threshold_after_the_sale_price_get_no_gift(shopper, address, goods, gift):
    gift_rule(gift, "500.00")
    sale = TimedDiscount.objects.create(
        name="秒杀",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    sale.items.create(variant=goods, price=D("240.00"))

    order = services.place_order(shopper, [(goods.pk, 2)], address=address)

    assert order.subtotal == D("480.00")
    assert gift_lines(order) == []


def test_a_gift_without_stock_is_left_out_and_named_on_the_order(
    shopper, address, goods, make_variant
):
    sold_out = make_variant(price="39.00", stock=0)
    rule = gift_rule(sold_out, "500.00")

    order = services.place_order(shopper, [(goods.pk, 2)], address=address)

    assert gift_lines(order) == []
    assert order.missed_gifts == [rule]
    assert [line.variant_id for line in order.lines.all()] == [goods.pk]


def test_two_rules_reached_give_both_gifts_and_a_lower_order_only_the_first(
    shopper, address, goods, gift, make_variant
):
    bigger = make_variant(price="99.00", stock=5)
    gift_rule(gift, "500.00")
    gift_rule(bigger, "800.00")

    large = services.place_order(shopper, [(goods.pk, 3)], address=address)
    small = services.place_order(shopper, [(goods.pk, 2)], address=address)

    assert sorted(gift_lines(large)) == sorted([(gift.pk, 1), (bigger.pk, 1)])
    assert gift_lines(small) == [(gift.pk, 1)]


def test_two_rules_with_one_gift_give_while_its_stock_lasts(shopper, address, goods, make_variant):
    last_two = make_variant(price="39.00", stock=2)
    gift_rule(last_two, "500.00", quantity=2)
    second = gift_rule(last_two, "800.00", quantity=1)

    order = services.place_order(shopper, [(goods.pk, 3)], address=address)

    assert gift_lines(order) == [(last_two.pk, 2)]
    assert order.missed_gifts == [second]


def test_a_gift_variant_also_in_the_cart_is_sold_first_and_given_from_what_is_left(
    shopper, address, goods, gift
):
    gift_rule(gift, "500.00")  # gift: 5 in stock

    order = services.place_order(shopper, [(goods.pk, 2), (gift.pk, 4)], address=address)

    bought = order.lines.get(variant=gift, is_gift=False)
    assert (bought.quantity, bought.paid_amount) == (4, D("156.00"))
    assert gift_lines(order) == [(gift.pk, 1)]
    gift.refresh_from_db()
    assert gift.stock == 0
    # the next order buys nothing of the gift: none left to give
    more = services.place_order(shopper, [(goods.pk, 2)], address=address)
    assert gift_lines(more) == [] and len(more.missed_gifts) == 1


def test_the_cart_taking_the_last_of_the_gift_leaves_no_gift(shopper, address, goods, gift):
    rule = gift_rule(gift, "500.00")

    order = services.place_order(shopper, [(goods.pk, 2), (gift.pk, 5)], address=address)

    assert gift_lines(order) == []
    assert order.missed_gifts == [rule]
    assert order.lines.get(variant=gift).quantity == 5


def test_an_inactive_or_ended_rule_gives_nothing(shopper, address, goods, gift):
    gift_rule(gift, "500.00", is_active=False)
    gift_rule(gift, "100.00", ends_at=timezone.now() - timedelta(minutes=1))

    order = services.place_order(shopper, [(goods.pk, 2)], address=address)

    assert gift_lines(order) == [] and order.missed_gifts == []


# --- In the admin -------------------------------------------------------------------


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"


def post_rule(admin_client, gift, *, quantity=1, url=None, **changes):
    local = timezone.localtime()
    data = {
        "name": "满500赠",
        "name_en": "",
        "threshold": "500.00",
        "gift": str(gift.pk),
        "quantity": str(quantity),
        "starts_at_0": local.strftime("%Y-%m-%d"),
        "starts_at_1": local.strftime("%H:%M:%S"),
        "ends_at_0": "",
        "ends_at_1": "",
        "is_active": "on",
        **changes,
    }
    return admin_client.post(url or reverse("admin:marketing_giftrule_add"), data)


def test_the_admin_refuses_a_gift_without_stock(admin_client, make_variant, english):
    sold_out = make_variant(stock=0)

    response = post_rule(admin_client, sold_out)

    assert response.status_code == 200
    assert "a gift without stock is never given" in response.content.decode()
    assert not GiftRule.objects.exists()


def test_the_admin_refuses_a_quantity_above_the_gift_stock(admin_client, make_variant, english):
    two_left = make_variant(stock=2)

    response = post_rule(admin_client, two_left, quantity=3)

    assert "Only 2 of the gift in stock" in response.content.decode()
    assert not GiftRule.objects.exists()


def test_the_admin_saves_a_gift_in_stock_and_lets_a_rule_run_out_be_switched_off(
    admin_client, gift, english
):
    assert post_rule(admin_client, gift).status_code == 302
    rule = GiftRule.objects.get()
    type(gift).objects.filter(pk=gift.pk).update(stock=0)  # given away since

    data = {"is_active": ""}
    response = post_rule(
        admin_client, gift, url=reverse("admin:marketing_giftrule_change", args=[rule.pk]), **data
    )

    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.is_active is False


def test_the_gift_list_shows_each_rules_gift_stock(admin_client, gift, make_variant, english):
    gift_rule(gift, "500.00")
    gift_rule(make_variant(stock=0), "800.00")

    body = admin_client.get(reverse("admin:marketing_giftrule_changelist")).content.decode()

    stocks = re.findall(r'<td class="field-gift_stock">(.*?)</td>', body, re.S)
    assert sorted(stocks) == sorted(["5", "0 <strong>(not enough: no gift given)</strong>"])


def test_the_gift_list_exports_as_csv(admin_client, gift, english):
    gift_rule(gift, "500.00", quantity=2)
    columns = ("name", "status", "threshold", "gift_sku", "quantity", "gift_stock", "is_active")

    response = admin_client.post(
        reverse("admin:marketing_giftrule_export"),
        {"format": "0", "resource": "0", **{f"giftruleresource_{c}": "on" for c in columns}},
    )

    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[1].split(",") == ["满500.00赠", "Running", "500.00", gift.sku, "2", "5", "yes"]
