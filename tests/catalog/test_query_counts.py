"""Each storefront page runs the same number of queries with 10 or 1,000 products."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Category, Product, ProductImage, ProductSpec, Variant
from marketing.models import TimedDiscount, TimedDiscountItem

pytestmark = pytest.mark.django_db

# Queries of a first (uncached) read; a cached read runs none of them.
# anonymous: home = categories + products; category (a top one: no ancestors to read) =
# category, children, count, page; search = count + page; product = product, variants,
# images, specs, related.
# Each also reads the price window (marketing.discounts.price_window: when a time-limited
# discount next starts or ends, part of every cache key), then cached until it: +1.
# Signed in adds the session, the user and the header's unread counts (消息, 客服: one query).
EXPECTED = {"home": 3, "category": 5, "search": 3, "product": 7}
# While a time-limited discount runs, the page's sale prices: the cards' variants, then
# every sale price at once (the product page's own variants are loaded already).
ON_SALE = {"home": 2, "category": 2, "search": 2, "product": 2}
SIGNED_IN = 3
# The product page's part for the visitor, never cached: the product, the coupons on offer.
VISITOR = {"product": 2}
# Signed in, it also asks whether the visitor is an active distributor (marketing.share:
# the share kit); a distributor's page: tests/marketing/test_share.py.
SIGNED_IN_VISITOR = {"product": 1}


def build_catalog(size: int) -> None:
    baijiu = Category.objects.create(name="白酒", name_en="Baijiu", slug="baijiu")
    sauce = Category.objects.create(name="酱香型", slug="sauce", parent=baijiu)
    Category.objects.create(name="浓香型", slug="strong", parent=baijiu)
    products = Product.objects.bulk_create(
        Product(
            category=sauce if n % 2 else baijiu,
            slug=f"liquor-{n}",
            name=f"茅台镇酱香 {n}",
            name_en=f"Maotai {n}",
            is_featured=n % 3 == 0,
        )
        for n in range(size)
    )
    Variant.objects.bulk_create(
        Variant(
            product=product,
            sku=f"SKU-{product.pk}-{size_ml}",
            name=f"{size_ml}ml",
            price=Decimal(100 + product.pk % 50 + size_ml),
            compare_at_price=Decimal(999 + size_ml),
            stock=product.pk % 7,
        )
        for product in products
        for size_ml in (250, 500)
    )
    ProductImage.objects.bulk_create(
        ProductImage(product=product, image=f"products/{product.pk}/{side}.png", position=p)
        for product in products
        for p, side in enumerate(("front", "back"))
    )
    ProductSpec.objects.bulk_create(
        ProductSpec(product=product, name="产地", value="贵州", position=0) for product in products
    )


def put_on_sale(every: int) -> None:
    """A running time-limited discount on one variant of every `every` products."""
    sale = TimedDiscount.objects.create(
        name="限时折扣",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    TimedDiscountItem.objects.bulk_create(
        TimedDiscountItem(discount=sale, variant=variant, price=variant.price - 10)
        for variant in Variant.objects.filter(name="500ml").order_by("pk")[::every]
    )


def pages():
    return {
        "home": reverse("catalog:home"),
        "category": reverse("catalog:category", args=["baijiu"])
        + "?min_price=100&in_stock=1&sort=price_asc&page=2",
        "search": reverse("catalog:search") + "?q=茅台&sort=best",
        "product": reverse("catalog:product", args=["liquor-1"]),
    }


# 60: enough products for the category URL's page 2 (a page past the last is not cached)
@pytest.mark.parametrize("size", [60, 1000])
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize("on_sale", [False, True], ids=["list-prices", "on-sale"])
@pytest.mark.parametrize("page", list(EXPECTED))
def test_page_queries_do_not_grow_with_the_catalog(
    client, make_user, django_assert_num_queries, size, signed_in, on_sale, page
):
    build_catalog(size)
    if on_sale:
        put_on_sale(every=1 if size < 100 else 3)
    if signed_in:
        client.force_login(make_user())
    url = pages()[page]
    extra = (SIGNED_IN + SIGNED_IN_VISITOR.get(page, 0) if signed_in else 0) + VISITOR.get(page, 0)
    expected = EXPECTED[page] + (ON_SALE[page] if on_sale else 0)
    with django_assert_num_queries(expected + extra):
        assert client.get(url).status_code == 200
    # the catalog read is cached: again, only the visitor's own queries remain
    with django_assert_num_queries(extra):
        assert client.get(url).status_code == 200
