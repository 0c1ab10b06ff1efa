"""The shopper's coupon pages: the coupon centre (领券中心), claiming there and on a
product page, and my coupons (我的优惠券) by tab; each shopper sees only their own."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from marketing import coupons, selectors
from marketing.models import Coupon, CouponClaim
from orders import services
from tests.orders.aftersale_helpers import place_paid

D = Decimal
CENTRE = reverse("marketing:coupon_centre")
MINE = reverse("marketing:my_coupons")


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def make_coupon(db):
    def make(name="满100减20", **fields):
        now = timezone.now()
        values = {
            "kind": Coupon.Kind.AMOUNT_OFF,
            "amount": D("20.00"),
            "threshold": D("100.00"),
            "valid_from": now - timedelta(days=1),
            "valid_until": now + timedelta(days=7),
            **fields,
        }
        return Coupon.objects.create(name=name, **values)

    return make


def claim_url(coupon) -> str:
    return reverse("marketing:claim_coupon", args=[coupon.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_centre_shows_each_coupon_on_offer_with_its_value_condition_and_what_is_left(
    client, make_coupon
):
    make_coupon(total_quantity=50)
    make_coupon(
        "酱香85折",
        kind=Coupon.Kind.PERCENT_OFF,
        amount=None,
        threshold=D("0"),
        percent_off=D("15"),
        max_discount=D("50.00"),
    )
    make_coupon("secret one", is_public=False)
    make_coupon("withdrawn", is_active=False)

    page = client.get(CENTRE).content.decode()

    assert "¥20" in page and "On ¥100 or more" in page and "50 left" in page
    assert "15% off" in page and "No minimum · up to ¥50 off" in page
    assert "secret one" not in page and "withdrawn" not in page


def test_in_chinese_a_percentage_coupon_reads_in_tenths(client, make_coupon, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    make_coupon(kind=Coupon.Kind.PERCENT_OFF, amount=None, threshold=D("0"), percent_off=D("15"))

    page = client.get(CENTRE).content.decode()

    assert "8.5" in page and "15%" not in page


def test_claiming_in_the_centre_gives_the_shopper_one_and_shows_it_claimed(
    client, shopper, make_coupon
):
    coupon = make_coupon()
    client.force_login(shopper)

    response = client.post(claim_url(coupon), {"next": CENTRE})

    assert response.url == CENTRE
    assert CouponClaim.objects.filter(user=shopper, coupon=coupon).count() == 1
    page = client.get(CENTRE).content.decode()
    assert "Claimed" in page and claim_url(coupon) not in page


def test_the_centre_shows_a_coupon_all_claimed_and_one_for_new_customers_only(
    client, shopper, make_user, make_coupon, variant, address
):
    gone = make_coupon("gone", total_quantity=1)
    coupons.claim(make_user("quick"), gone)
    newcomers = make_coupon("newcomers", audience=Coupon.Audience.NEW_CUSTOMERS)
    place_paid(shopper, [(variant, 1)], address)
    client.force_login(shopper)

    page = client.get(CENTRE).content.decode()

    assert "All claimed" in page and "New customers only" in page
    assert claim_url(gone) not in page and claim_url(newcomers) not in page


def test_a_refused_claim_says_why_and_changes_nothing(client, shopper, make_coupon):
    coupon = make_coupon()
    coupons.claim(shopper, coupon)
    client.force_login(shopper)

    response = client.post(claim_url(coupon))

    assert response.url == CENTRE
    assert any("as many of this coupon" in m for m in messages_of(response))
    assert CouponClaim.objects.filter(user=shopper).count() == 1


def test_a_visitor_is_asked_to_sign_in_and_claims_nothing(client, make_coupon):
    coupon = make_coupon()

    page = client.get(CENTRE).content.decode()
    response = client.post(claim_url(coupon))

    assert reverse("accounts:login") in page
    assert response.status_code == 302 and reverse("accounts:login") in response.url
    assert not CouponClaim.objects.exists()


def test_a_withdrawn_coupon_is_refused_with_the_reason(client, shopper, make_coupon):
    coupon = make_coupon(is_active=False)
    client.force_login(shopper)

    response = client.post(claim_url(coupon))

    assert any("no longer offered" in m for m in messages_of(response))
    assert not CouponClaim.objects.exists()


def test_a_hidden_coupon_is_not_found_and_claiming_needs_a_post(client, shopper, make_coupon):
    hidden = make_coupon(is_public=False)
    client.force_login(shopper)

    assert client.post(claim_url(hidden)).status_code == 404
    assert client.get(claim_url(make_coupon())).status_code == 405
    assert not CouponClaim.objects.exists()


def test_claiming_goes_back_only_to_a_page_of_this_site(client, shopper, make_coupon):
    coupon = make_coupon(per_person_limit=3)
    client.force_login(shopper)

    home = client.post(claim_url(coupon), {"next": "/p/some-product/"})
    away = client.post(claim_url(coupon), {"next": "https://evil.example/"})

    assert home.url == "/p/some-product/"
    assert away.url == CENTRE


def test_the_product_page_offers_the_coupons_that_cover_it_and_claims_back_there(
    client, shopper, make_coupon, make_variant, category
):
    from catalog.models import Category

    wine = make_variant(price="120.00")
    other = make_variant(price="50.00")
    elsewhere = Category.objects.create(name="红酒", slug="red")
    everywhere = make_coupon("everywhere")
    for_wine = make_coupon(
        "for wine",
        kind=Coupon.Kind.NO_THRESHOLD,
        threshold=D("0"),
        amount=D("8.00"),
        scope=Coupon.Scope.PRODUCTS,
    )
    for_wine.products.add(wine.product)
    not_here = make_coupon("not here", scope=Coupon.Scope.CATEGORIES)
    not_here.categories.add(elsewhere)
    client.force_login(shopper)
    product_url = wine.product.get_absolute_url()

    page = client.get(product_url).content.decode()
    response = client.post(claim_url(for_wine), {"next": product_url})
    after = client.get(product_url).content.decode()

    assert claim_url(everywhere) in page and claim_url(for_wine) in page
    assert claim_url(not_here) not in page
    assert response.url == product_url
    assert claim_url(for_wine) not in after and "Claimed" in after
    assert claim_url(for_wine) not in client.get(other.product.get_absolute_url()).content.decode()


def test_what_a_shopper_holds_is_counted_once_whatever_the_categories_covering_it(
    shopper, make_coupon, make_variant, category
):
    from catalog.models import Category

    child = Category.objects.create(name="酱香", slug="sauce", parent=category)
    wine = make_variant()
    wine.product.category = child
    wine.product.save()
    coupon = make_coupon(scope=Coupon.Scope.CATEGORIES, per_person_limit=2)
    coupon.categories.add(category, child)  # both cover the product
    coupons.claim(shopper, coupon)

    [offered] = selectors.claimable_coupons(shopper, product=wine.product)

    assert offered.held == 1  # one claim, not one per category row of the join


# My coupons ---------------------------------------------------------------------------


@pytest.fixture
def holdings(shopper, make_coupon, variant, address):
    """The shopper's coupons: one usable, one used on an order, one expired."""
    variant.price = D("150.00")
    variant.save()
    usable = coupons.claim(shopper, make_coupon("usable one"))
    used = coupons.claim(shopper, make_coupon("used one"))
    order = services.place_order(shopper, [(variant.pk, 1)], address=address, coupon=used.pk)
    lapsed = make_coupon("lapsed one")
    expired = coupons.claim(shopper, lapsed, now=timezone.now() - timedelta(days=2))
    CouponClaim.objects.filter(pk=expired.pk).update(valid_until=timezone.now())
    return usable, used, expired, order


def test_my_coupons_are_under_usable_used_and_expired(client, shopper, holdings):
    _usable, _used, _expired, order = holdings
    client.force_login(shopper)

    usable = client.get(MINE).content.decode()
    used = client.get(MINE, {"tab": "used"}).content.decode()
    expired = client.get(MINE, {"tab": "expired"}).content.decode()

    assert "usable one" in usable and "used one" not in usable and "lapsed one" not in usable
    assert "used one" in used and order.get_absolute_url() in used
    assert "lapsed one" in expired and "usable one" not in expired


def test_a_shopper_sees_only_their_own_coupons(client, shopper, make_user, holdings):
    client.force_login(make_user("someone"))

    pages = [client.get(MINE, {"tab": tab}).content.decode() for tab in selectors.CLAIM_TABS]

    assert not any(name in page for page in pages for name in ("usable one", "used one"))
    assert client.get(MINE).context["tabs"][0]["count"] == 0


def test_my_coupons_needs_signing_in(client):
    response = client.get(MINE)

    assert response.status_code == 302 and reverse("accounts:login") in response.url


# Query counts ---------------------------------------------------------------------------

# session, user, unread counts (header); the coupons with what each holds; the categories
# and the products they cover; whether the shopper is new (there is a new-customers coupon)
CENTRE_PAGE = 3 + 1 + 2 + 1
# session, user, unread counts (header); the tab counts; the page count, the page, the
# categories and products their coupons cover
MINE_PAGE = 3 + 1 + 1 + 1 + 2


@pytest.mark.parametrize("coupons_on_offer", [2, 12])
def test_the_coupon_centre_has_a_fixed_number_of_queries(
    client, shopper, make_coupon, category, coupons_on_offer, django_assert_num_queries
):
    for n in range(coupons_on_offer):
        coupon = make_coupon(
            f"coupon {n}",
            scope=Coupon.Scope.CATEGORIES,
            audience=Coupon.Audience.NEW_CUSTOMERS if n == 0 else Coupon.Audience.EVERYONE,
        )
        coupon.categories.add(category)
        coupons.claim(shopper, coupon)
    client.force_login(shopper)

    with django_assert_num_queries(CENTRE_PAGE):
        response = client.get(CENTRE)

    assert len(response.context["coupons"]) == coupons_on_offer


@pytest.mark.parametrize("held", [2, 15])
def test_my_coupons_has_a_fixed_number_of_queries(
    client, shopper, make_coupon, category, held, django_assert_num_queries
):
    for n in range(held):
        coupon = make_coupon(f"coupon {n}", scope=Coupon.Scope.CATEGORIES)
        coupon.categories.add(category)
        coupons.claim(shopper, coupon)
    client.force_login(shopper)

    with django_assert_num_queries(MINE_PAGE):
        response = client.get(MINE)

    assert len(response.context["page"].object_list) == held
