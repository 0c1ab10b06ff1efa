"""The address book (收货地址): exactly one default, and only your own addresses."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts import services
from accounts.models import Address

VALID = {
    "recipient_name": "李四",
    "phone": "13912345678",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "detail": "文三路 1 号",
}


def defaults_of(user):
    return list(Address.objects.filter(user=user, is_default=True).values_list("pk", flat=True))


def test_the_first_address_becomes_the_default(shopper, make_address):
    first = make_address(shopper)
    second = make_address(shopper, "上海市 上海市 黄浦区 南京东路1号")

    assert defaults_of(shopper) == [first.pk]
    assert not second.is_default


def test_making_another_default_moves_the_one_default(shopper, make_address):
    first = make_address(shopper)
    second = make_address(shopper, "北京市 北京市 朝阳区 建国路1号", make_default=True)
    assert defaults_of(shopper) == [second.pk]

    services.set_default_address(first)
    assert defaults_of(shopper) == [first.pk]


def test_deleting_the_default_hands_it_to_the_newest_remaining(shopper, make_address):
    old = make_address(shopper)
    newer = make_address(shopper, "北京市 北京市 朝阳区 建国路1号")
    default = make_address(shopper, "广东省 深圳市 南山区 科技园1号", make_default=True)

    services.delete_address(default)

    assert defaults_of(shopper) == [newer.pk]
    assert Address.objects.filter(pk=old.pk, is_default=False).exists()


def test_editing_the_default_without_the_box_keeps_it_default(client, shopper, make_address):
    address = make_address(shopper)
    client.force_login(shopper)

    client.post(reverse("accounts:address_edit", args=[address.pk]), VALID)

    address.refresh_from_db()
    assert (address.is_default, address.city) == (True, "杭州市")


def test_the_database_refuses_a_second_default(shopper, make_address):
    make_address(shopper)
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(user=shopper, is_default=True, **VALID)


def test_two_users_each_have_their_own_default(make_user, make_address):
    a, b = make_user("a"), make_user("b")
    make_address(a)
    make_address(b)
    assert len(defaults_of(a)) == len(defaults_of(b)) == 1


def test_adding_an_address_through_the_page(client, shopper):
    client.force_login(shopper)

    response = client.post(reverse("accounts:address_add"), VALID, follow=True)

    assert response.redirect_chain[-1][0] == reverse("accounts:addresses")
    assert "浙江省 杭州市 西湖区 文三路 1 号" in response.content.decode()
    assert defaults_of(shopper) == [shopper.addresses.get().pk]


MOBILE = "11-digit mainland mobile number"


@pytest.mark.parametrize(
    "phone,message",
    [
        ("12345678901", MOBILE),
        ("1380013800", MOBILE),
        ("phone", MOBILE),
        ("138001380001", "at most 11 characters"),
        ("", "This field is required."),
    ],
)
def test_a_bad_mobile_number_is_refused_with_a_message(client, shopper, phone, message, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(shopper)

    response = client.post(reverse("accounts:address_add"), {**VALID, "phone": phone})

    assert response.status_code == 200
    assert not Address.objects.exists()
    assert message in response.content.decode()


@pytest.mark.parametrize(
    "method,name",
    [
        ("get", "accounts:address_edit"),
        ("post", "accounts:address_edit"),
        ("post", "accounts:address_delete"),
        ("post", "accounts:address_set_default"),
    ],
)
def test_another_users_address_is_not_found(client, make_user, make_address, method, name):
    theirs = make_address(make_user("other"))
    client.force_login(make_user("me"))

    response = getattr(client, method)(reverse(name, args=[theirs.pk]), VALID)

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.city, theirs.is_default) == ("上海市", True)


def test_the_address_pages_need_a_sign_in(client):
    response = client.get(reverse("accounts:addresses"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response.url


def test_staff_adding_an_address_in_the_admin_keeps_one_default(admin_client, shopper):
    prefix = "addresses"
    data = {
        "username": shopper.username,
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "0",
        **{f"{prefix}-0-{name}": value for name, value in VALID.items()},
    }

    response = admin_client.post(reverse("admin:accounts_user_change", args=[shopper.pk]), data)

    assert response.status_code == 302, response.context["errors"]
    assert defaults_of(shopper) == [shopper.addresses.get().pk]


def test_adding_an_address_the_user_already_has_reuses_it(shopper):
    first = services.save_address(Address(user=shopper, **VALID))
    other = services.save_address(
        Address(user=shopper, **{**VALID, "detail": "文三路 2 号"}), make_default=True
    )

    # the same address again, with stray spaces, asked to be the default
    again = services.save_address(
        Address(user=shopper, **{**VALID, "recipient_name": " 李四 ", "detail": "文三路 1 号  "}),
        make_default=True,
    )

    assert again.pk == first.pk
    assert Address.objects.filter(user=shopper).count() == 2
    assert defaults_of(shopper) == [first.pk]
    assert other.pk != first.pk


def test_another_users_identical_address_is_not_reused(make_user):
    mine = services.save_address(Address(user=make_user("me"), **VALID))
    theirs = services.save_address(Address(user=make_user("them"), **VALID))

    assert mine.pk != theirs.pk
    assert theirs.is_default
