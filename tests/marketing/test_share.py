"""The share kit (分享赚) on a product page: what sharing earns a distributor (what an
order through their link really pays level 1), their link, for them only."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from catalog.models import Category, Product, Variant
from commissions import services as commission_services
from commissions.models import Commission, CommissionOverride, GradeRate
from distributors.models import Grade
from distributors.network import suspend_distributor
from marketing import share
from marketing.models import TimedDiscount
from orders import services as order_services
from tests.catalog.test_query_counts import EXPECTED, SIGNED_IN, VISITOR, build_catalog

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def alice(make_distributor):
    return make_distributor("alice")


def earned_through_link(distributor, variant, buyer, address) -> Decimal:
    """Level 1's commission on one unit bought through the distributor's link."""
    order = order_services.place_order(
        buyer, [(variant.pk, 1)], address=address, referral_code=distributor.invite_code
    )
    order_services.mark_paid(order)
    commission_services.accrue_commissions(order.pk)
    return Commission.objects.get(order=order, level=1, distributor=distributor).amount


def new_plan_version(**rules):
    """The active plan's next version with grade rates / overrides, activated."""
    active = commission_services.active_plan()
    draft = commission_services.new_version(active)
    for grade, rate in rules.get("grade_rates", []):
        GradeRate.objects.create(plan=draft, grade=grade, level=1, rate=D(rate))
    for target, kind, value in rules.get("overrides", []):
        field = "product" if isinstance(target, Product) else "category"
        CommissionOverride.objects.create(
            plan=draft, level=1, kind=kind, value=D(value), **{field: target}
        )
    return commission_services.activate_plan(draft)


def test_the_kit_offers_what_level_one_earns_on_an_order_through_the_link(
    alice, make_variant, shopper, address
):
    variant = make_variant(price="128.00")

    kit = share.kit_for(alice.user, variant.product)

    assert kit.amount == D("12.80")  # the default plan: 10% at level 1
    assert kit.amount == earned_through_link(alice, variant, shopper, address)


def test_a_product_override_sets_the_amount(alice, make_variant, shopper, address):
    variant = make_variant(price="300.00")
    new_plan_version(overrides=[(variant.product, "fixed", "20")])

    kit = share.kit_for(alice.user, variant.product)

    assert kit.amount == D("20.00")
    assert kit.amount == earned_through_link(alice, variant, shopper, address)


def test_the_deepest_category_override_above_the_product_sets_the_amount(
    alice, category, shopper, address
):
    strong = Category.objects.create(name="浓香型", slug="strong", parent=category)
    Category.objects.partial_rebuild(category.tree_id)
    product = Product.objects.create(category=strong, name="泸州老窖", slug="lz")
    variant = Variant.objects.create(product=product, name="500ml", sku="LZ", price=D("199.00"))
    Variant.objects.filter(pk=variant.pk).update(stock=5)
    new_plan_version(overrides=[(category, "percentage", "0.06"), (strong, "percentage", "0.08")])

    kit = share.kit_for(alice.user, Product.objects.select_related("category").get(pk=product.pk))

    assert kit.amount == D("15.92")  # 8% of the sub-category, not 6% of 白酒
    assert kit.amount == earned_through_link(alice, variant, shopper, address)


def test_the_distributors_grade_rate_sets_the_amount(alice, make_variant, shopper, address):
    gold = Grade.objects.get_or_create(rank=9, defaults={"name": "金牌", "name_en": "Gold"})[0]
    type(alice).objects.filter(pk=alice.pk).update(grade=gold)
    alice.refresh_from_db()
    variant = make_variant(price="100.00")
    new_plan_version(grade_rates=[(gold, "0.15")])

    kit = share.kit_for(alice.user, variant.product)

    assert kit.amount == D("15.00")
    assert kit.amount == earned_through_link(alice, variant, shopper, address)


def test_the_amount_is_never_above_the_plans_cap(alice, make_variant, shopper, address):
    variant = make_variant(price="50.00")
    new_plan_version(overrides=[(variant.product, "fixed", "40")])  # cap: 30% of 50

    kit = share.kit_for(alice.user, variant.product)

    assert kit.amount == D("15.00")
    assert kit.amount == earned_through_link(alice, variant, shopper, address)


def test_the_amount_is_on_the_cheapest_variant_at_its_time_limited_price(
    alice, make_variant, shopper, address
):
    dearer = make_variant(price="100.00")
    cheaper = Variant.objects.create(
        product=dearer.product, name="375ml", sku="SKU-375", price=D("90.00")
    )
    Variant.objects.filter(pk=cheaper.pk).update(stock=5)
    sale = TimedDiscount.objects.create(
        name="秒杀",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    sale.items.create(variant=dearer, price=D("70.00"))

    kit = share.kit_for(alice.user, dearer.product)

    assert kit.amount == D("7.00")  # 10% of the 500ml at 70.00, not of the 375ml at 90.00
    assert kit.amount == earned_through_link(alice, dearer, shopper, address)


def test_an_inactive_variant_is_not_what_the_amount_is_on(alice, make_variant):
    variant = make_variant(price="100.00")
    Variant.objects.create(
        product=variant.product, name="50ml", sku="SKU-50", price=D("10.00"), is_active=False
    )

    assert share.kit_for(alice.user, variant.product).amount == D("10.00")


def test_the_kit_links_to_the_product_with_the_referral_code(alice, variant, client):
    kit = share.kit_for(alice.user, variant.product)

    link = urlsplit(kit.url)
    assert f"{link.scheme}://{link.netloc}" == settings.SITE_URL
    assert link.path == variant.product.get_absolute_url()
    assert link.query == f"ref={alice.invite_code}"
    # and following the link remembers who shared it
    response = client.get(f"{link.path}?{link.query}")
    assert response.cookies[settings.REFERRAL_COOKIE_NAME].value == alice.invite_code


def test_the_kit_links_to_the_distributors_own_product_poster(alice, variant):
    kit = share.kit_for(alice.user, variant.product)

    assert kit.poster_url == reverse("marketing:product_poster", args=[variant.product.slug])


def test_a_shopper_an_anonymous_visitor_and_a_suspended_distributor_have_no_kit(
    alice, make_distributor, shopper, variant, admin_user
):
    from django.contrib.auth.models import AnonymousUser

    bob = make_distributor("bob")
    suspend_distributor(bob, actor=admin_user)

    assert share.kit_for(shopper, variant.product) is None
    assert share.kit_for(AnonymousUser(), variant.product) is None
    assert share.kit_for(bob.user, variant.product) is None
    assert share.kit_for(alice.user, variant.product) is not None


def test_without_an_active_plan_the_kit_has_a_link_but_no_amount(alice, variant):
    type(commission_services.active_plan()).objects.update(is_active=False)

    kit = share.kit_for(alice.user, variant.product)

    assert kit.amount is None
    assert alice.invite_code in kit.url


# The page ------------------------------------------------------------------------


def test_the_product_page_shows_a_distributor_what_sharing_earns(alice, make_variant, client):
    variant = make_variant(price="128.00")
    client.force_login(alice.user)

    page = client.get(variant.product.get_absolute_url()).content.decode()

    assert "share-kit" in page
    assert "¥12.80" in page
    assert f"ref={alice.invite_code}" in page
    assert reverse("marketing:product_poster", args=[variant.product.slug]) in page


def test_a_shopper_sees_no_share_kit_on_the_product_page(client, shopper, variant, alice):
    client.force_login(shopper)
    page = client.get(variant.product.get_absolute_url()).content.decode()

    assert "share-kit" not in page
    assert alice.invite_code not in page


def test_one_distributors_kit_is_not_served_to_the_next_visitor(client, alice, variant):
    # the product part of the page is cached for everyone; the kit is put in per request
    client.force_login(alice.user)
    client.get(variant.product.get_absolute_url())
    client.logout()

    page = client.get(variant.product.get_absolute_url()).content.decode()

    assert alice.invite_code not in page


# Whether the visitor is an active distributor, the plan, the variants, their sale prices.
SHARE_KIT = 4
# The plan's rules, read once per process (and again after the test clears them).
PLAN_RULES = 3


@pytest.mark.parametrize("size", [60, 1000])
def test_a_distributors_product_page_queries_do_not_grow_with_the_catalog(
    client, make_distributor, django_assert_num_queries, size
):
    build_catalog(size)
    client.force_login(make_distributor("alice").user)
    url = reverse("catalog:product", args=["liquor-1"])
    visitor = SIGNED_IN + VISITOR["product"] + SHARE_KIT

    with django_assert_num_queries(EXPECTED["product"] + visitor + PLAN_RULES):
        assert "share-kit" in client.get(url).content.decode()
    with django_assert_num_queries(visitor):
        assert "share-kit" in client.get(url).content.decode()
