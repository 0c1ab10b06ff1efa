"""My customers (我的客户): the shoppers bound to me, masked, in a fixed number of queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from distributors import selectors
from distributors.models import CustomerBinding, NetworkSettings
from orders.models import Order
from orders.services import ShippingAddress, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def buy(make_variant):
    """buy(customer, distributor, amount, phone=..., status=PAID): an order credited to them."""

    def make(customer, distributor, amount, *, phone="13700000000", status=Order.Status.PAID):
        variant = make_variant(price=amount, stock=1)
        address = ShippingAddress("收件人", phone, "上海市浦东新区世纪大道 100 号")
        order = place_order(
            customer, [(variant.pk, 1)], address=address, referral_code=distributor.invite_code
        )
        Order.objects.filter(pk=order.pk).update(status=status)
        return order

    return make


def binding_of(customer):
    return CustomerBinding.objects.filter(customer=customer).latest("pk")


@pytest.fixture
def customers(make_distributor, make_user, buy):
    """me with four customers: zhang (for good, two credited orders), li (expiring in 3
    days, no phone of his own), wang (ended by a rebind), zhao (lapsed); and an other
    distributor's customer."""
    me = make_distributor("me")
    other = make_distributor("other")
    now = timezone.now()
    zhang = make_user("zhang", first_name="张三", phone="13812345678")
    li = make_user("li", first_name="李四")
    wang = make_user("wang")
    zhao = make_user("zhao")
    stranger = make_user("stranger", phone="13599998888")

    buy(zhang, me, "100.00")
    kept = buy(zhang, me, "50.00", status=Order.Status.PARTIALLY_REFUNDED)
    Order.objects.filter(pk=kept.pk).update(refunded_total=Decimal("20.00"))
    buy(zhang, me, "999.00", status=Order.Status.PENDING_PAYMENT)
    buy(li, me, "30.00", phone="13900001111")
    buy(wang, me, "10.00")
    buy(zhao, me, "10.00")
    buy(stranger, other, "10.00")

    CustomerBinding.objects.filter(pk=binding_of(li).pk).update(
        rule=NetworkSettings.BindingRule.EXPIRING,
        bound_at=now - timedelta(days=27),
        expires_at=now + timedelta(days=3),
    )
    CustomerBinding.objects.filter(pk=binding_of(zhang).pk).update(
        bound_at=now - timedelta(days=40)
    )
    CustomerBinding.objects.filter(pk=binding_of(wang).pk).update(ended_at=now - timedelta(days=1))
    CustomerBinding.objects.filter(pk=binding_of(zhao).pk).update(
        rule=NetworkSettings.BindingRule.EXPIRING, expires_at=now - timedelta(days=2)
    )
    return {"me": me, "other": other, "zhang": zhang, "li": li, "wang": wang, "zhao": zhao}


def page_of(client, user, **query):
    client.force_login(user)
    return client.get(reverse("distributors:customers"), query)


def names(page):
    return [row.name for row in page.context["rows"]]


def test_customers_bound_now_come_first_with_their_orders_credited_to_me(client, customers):
    page = page_of(client, customers["me"].user)
    rows = {row.name: row for row in page.context["rows"]}
    assert names(page) == ["李*", "张*"]  # newest binding first
    assert (rows["张*"].order_count, rows["张*"].credited_sales) == (2, Decimal("130.00"))
    assert rows["张*"].expires_at is None and rows["李*"].expires_soon


def test_ended_and_lapsed_bindings_are_in_the_second_tab(client, customers):
    page = page_of(client, customers["me"].user, tab="ended")
    assert names(page) == ["w*", "z*"]  # wang ended yesterday, zhao lapsed two days ago
    assert page.context["counts"] == selectors.CustomerCounts(current=2, ended=2, expiring_soon=1)


def test_phone_numbers_and_names_are_masked_everywhere_on_the_page(client, customers):
    page = page_of(client, customers["me"].user)
    body = page.content.decode()
    assert "138****5678" in body  # the customer's own phone
    assert "139****1111" in body  # none of his own: his last order's
    for secret in ("13812345678", "13900001111", "张三", "李四"):
        assert secret not in body


def test_a_binding_ending_within_seven_days_gets_a_warning_and_a_badge(client, customers):
    page = page_of(client, customers["me"].user)
    body = page.content.decode()
    assert 'class="flash flash-warning"' in body
    assert body.count('class="badge badge-warning"') == 1


def test_the_rule_and_for_good_are_shown(client, customers, settings):
    settings.LANGUAGE_CODE = "en"
    body = page_of(client, customers["me"].user).content.decode()
    assert "First referrer binds the customer for good" in body and "For good" in body


def test_another_distributor_sees_only_their_own_customers(client, customers):
    page = page_of(client, customers["other"].user)
    assert names(page) == ["s*"]
    assert "135****8888" in page.content.decode()
    assert "张*" not in page.content.decode()


def test_a_shopper_is_sent_to_join(client, customers):
    page = page_of(client, customers["zhang"])
    assert page.url == reverse("distributors:join")


def test_the_dashboard_links_to_my_customers(client, customers):
    client.force_login(customers["me"].user)
    body = client.get(reverse("distributors:dashboard")).content.decode()
    assert f'href="{reverse("distributors:customers")}"' in body


def test_the_customer_list_is_paginated(client, customers, monkeypatch):
    from distributors import views

    monkeypatch.setattr(views, "CUSTOMERS_PAGE_SIZE", 1)
    page = page_of(client, customers["me"].user, page=2)
    assert names(page) == ["张*"]
    assert 'rel="prev"' in page.content.decode()


@pytest.mark.parametrize("size", [3, 40])
def test_the_page_takes_the_same_number_of_queries_whatever_the_number_of_customers(
    client, make_distributor, make_user, buy, django_assert_num_queries, size
):
    me = make_distributor("me")
    for n in range(size):
        buy(make_user(f"c{n}"), me, "10.00")
    client.force_login(me.user)

    # session, user, distributor, page count, page rows, tab counts, the header's unread counts
    with django_assert_num_queries(7):
        response = client.get(reverse("distributors:customers"))

    assert response.context["counts"].current == size


def test_an_ended_binding_shows_the_day_it_ended_or_lapsed(client, customers):
    body = page_of(client, customers["me"].user, tab="ended").content.decode()
    wang, zhao = (binding_of(customers[name]) for name in ("wang", "zhao"))
    for over_at in (wang.ended_at, zhao.expires_at):
        assert timezone.localtime(over_at).strftime("%Y-%m-%d") in body


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), (" 1381234 ", "138****1234"), ("12345", "****"), ("", "")],
)
def test_a_phone_shows_only_its_first_three_and_last_four_digits(phone, masked):
    assert selectors.mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("谢", "谢*"), ("", "*"), (None, "*")]
)
def test_a_name_shows_only_its_first_character(name, masked):
    assert selectors.mask_name(name) == masked
