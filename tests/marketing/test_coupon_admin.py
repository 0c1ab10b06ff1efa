"""The coupon back office: a form that refuses coupons that make no sense, the issue
page (发券) through the services, and the read-only list of coupons shoppers hold."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from marketing import coupons
from marketing.admin.coupons import ClaimResource, CouponResource
from marketing.models import Coupon, CouponClaim
from orders import services

pytestmark = pytest.mark.django_db

D = Decimal
ADD = reverse("admin:marketing_coupon_add")


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def form_data(**changes) -> dict:
    now = timezone.localtime()
    data = {
        "name": "满100减20",
        "name_en": "",
        "kind": Coupon.Kind.AMOUNT_OFF,
        "amount": "20.00",
        "threshold": "100.00",
        "percent_off": "",
        "max_discount": "",
        "scope": Coupon.Scope.ALL,
        "validity": Coupon.Validity.FIXED,
        "valid_from_0": now.strftime("%Y-%m-%d"),
        "valid_from_1": "00:00:00",
        "valid_until_0": (now + timedelta(days=30)).strftime("%Y-%m-%d"),
        "valid_until_1": "23:59:59",
        "valid_days": "",
        "total_quantity": "100",
        "per_person_limit": "1",
        "audience": Coupon.Audience.EVERYONE,
        "is_public": "on",
        "is_active": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def coupon(make_coupon):
    return make_coupon(total_quantity=5)


def test_a_sensible_coupon_is_saved(admin_client):
    response = admin_client.post(ADD, form_data())

    assert response.status_code == 302
    assert Coupon.objects.get().amount == D("20.00")


@pytest.mark.parametrize("percent", ["100", "150", "0"])
def test_a_percentage_of_100_or_more_or_0_is_refused_with_a_message(admin_client, percent):
    data = form_data(kind=Coupon.Kind.PERCENT_OFF, amount="", threshold="0", percent_off=percent)

    response = admin_client.post(ADD, data)

    assert response.status_code == 200
    assert "must be more than 0 and less than 100" in response.text
    assert not Coupon.objects.exists()


def test_an_end_before_the_start_is_refused_with_a_message(admin_client):
    today = timezone.localtime().strftime("%Y-%m-%d")
    data = form_data(valid_from_0=today, valid_until_0=today, valid_until_1="00:00:00")
    data["valid_from_1"] = "12:00:00"

    response = admin_client.post(ADD, data)

    assert "The end must come after the start." in response.text
    assert not Coupon.objects.exists()


def test_a_scope_without_what_it_covers_is_refused(admin_client):
    response = admin_client.post(ADD, form_data(scope=Coupon.Scope.CATEGORIES))

    assert "Choose the categories this coupon applies to." in response.text
    assert not Coupon.objects.exists()


def test_the_quantity_cannot_go_below_what_was_handed_out(admin_client, coupon, make_user):
    for n in range(3):
        coupons.claim(make_user(f"c{n}"), coupon)
    change = reverse("admin:marketing_coupon_change", args=[coupon.pk])

    response = admin_client.post(change, form_data(total_quantity="2"))

    assert "3 have been handed out already" in response.text
    coupon.refresh_from_db()
    assert coupon.total_quantity == 5


def test_the_list_shows_face_value_handed_out_of_total_and_used(
    admin_client, coupon, shopper, variant, address
):
    variant.price = D("120.00")
    variant.save()
    claim = coupons.claim(shopper, coupon)
    services.place_order(shopper, [(variant.pk, 1)], address=address, coupon=claim.pk)

    page = admin_client.get(reverse("admin:marketing_coupon_changelist")).text

    assert "¥20" in page and "On ¥100 or more" in page and "1 / 5" in page
    assert '<td class="field-used_count">1</td>' in page


# Issuing ---------------------------------------------------------------------------------


def issue_url(coupon) -> str:
    return reverse("admin:marketing_coupon_issue", args=[coupon.pk])


def test_issuing_to_usernames_and_phones_says_how_many_got_one(admin_client, coupon, make_user):
    first, second = make_user("first"), make_user("second", phone="13900001111")
    coupons.claim(first, coupon)

    response = admin_client.post(
        issue_url(coupon), {"customers": "first\n13900001111, second"}, follow=True
    )

    assert "was given to 1 customer." in response.text
    assert "1 already held as many as one person may." in response.text
    assert CouponClaim.objects.filter(user=second, source="issued").count() == 1


def test_unknown_customers_are_refused_and_nothing_is_issued(admin_client, coupon, make_user):
    make_user("known")

    response = admin_client.post(issue_url(coupon), {"customers": "known nobody 13000000000"})

    assert response.status_code == 200
    assert "No customer has this username or phone: nobody, 13000000000." in response.text
    assert not CouponClaim.objects.exists()


def test_customers_and_conditions_together_or_neither_are_refused(admin_client, coupon, shopper):
    both = admin_client.post(issue_url(coupon), {"customers": "shopper", "ordered_within_days": 7})
    neither = admin_client.post(issue_url(coupon), {})

    assert "not both" in both.text
    assert "at least one condition" in neither.text
    assert not CouponClaim.objects.exists()


def test_issuing_more_than_are_left_is_refused_on_the_page(admin_client, coupon, make_user):
    for n in range(6):
        make_user(f"c{n}")

    response = admin_client.post(
        issue_url(coupon), {"customers": " ".join(f"c{n}" for n in range(6))}
    )

    assert "Only 5 of this coupon are left, not enough for 6 customers." in response.text
    assert not CouponClaim.objects.exists()


def test_issuing_by_conditions_goes_through_the_service(
    admin_client, coupon, shopper, variant, address
):
    from tests.orders.aftersale_helpers import place_paid

    place_paid(shopper, [(variant, 1)], address)

    response = admin_client.post(issue_url(coupon), {"ordered_within_days": "30"}, follow=True)

    assert "was given to 1 customer." in response.text
    assert CouponClaim.objects.get().user == shopper


def test_the_issue_page_shows_what_is_left(admin_client, coupon):
    page = admin_client.get(issue_url(coupon)).text

    assert "5 of 5 left." in page and 'name="customers"' in page


# The coupons shoppers hold ---------------------------------------------------------------


def test_claims_are_listed_read_only_and_exported_as_csv(admin_client, coupon, shopper):
    coupons.claim(shopper, coupon)
    changelist = reverse("admin:marketing_couponclaim_changelist")

    page = admin_client.get(changelist, {"state": "usable"}).text
    every_field = {f"claimresource_{name}": "on" for name in ClaimResource._meta.fields}
    export = admin_client.post(
        reverse("admin:marketing_couponclaim_export"),
        {"format": "0", "resource": "0", **every_field},
    )

    assert "shopper" in page and "Usable" in page
    assert admin_client.get(reverse("admin:marketing_couponclaim_add")).status_code == 403
    assert export.status_code == 200
    body = export.content.decode("utf-8-sig")
    assert "shopper" in body and "满100减20" in body


def test_coupons_are_exported_as_csv_with_what_was_handed_out_and_used(
    admin_client, coupon, shopper
):
    coupons.claim(shopper, coupon)
    every_field = {f"couponresource_{name}": "on" for name in CouponResource._meta.fields}

    export = admin_client.post(
        reverse("admin:marketing_coupon_export"), {"format": "0", "resource": "0", **every_field}
    )
    listing = admin_client.get(reverse("admin:marketing_coupon_changelist")).text

    assert export.status_code == 200
    row = export.content.decode("utf-8-sig").splitlines()[1]
    assert row.startswith("满100减20,¥20,") and ",1,5,0," in row
    assert reverse("admin:marketing_campaign_report") in listing  # the report link stays
