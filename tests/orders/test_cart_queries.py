"""Fixed query counts of the cart and checkout pages: the same with 1 or 3 lines
in the cart, and with 10 or 1,000 products in the catalog."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from catalog.models import Product, Variant
from orders.models import Order, ShippingSettings
from tests.accounts.helpers import saved_address

# session, cart variants (one query), shipping settings, the user and the unread counts
# (header) + the sale prices (marketing.pricing.quote, without a coupon): the gift rules
# in force and the time-limited prices of the cart's variants
CART_PAGE = 5 + 2
# session, user, the header's unread counts, cart variants, shipping settings, the address book,
# + saving the new checkout token in the session (savepoint, update, release)
# + the quote: gift rules in force, the shopper's coupons (none here; with some,
# two more for what they cover, tests/marketing/test_checkout_coupons.py), the
# time-limited prices
CHECKOUT_PAGE = 6 + 3 + 3
# The view: session, user, token reuse check, cart variants, shipping settings,
# address book (6) and its transaction (2: savepoint, release). place_order: its
# transaction (2), reuse check, the sold-out check without a lock (1), gift rules
# in force (1), variants locked with their products (2; on PostgreSQL 2 more: the
# lock wait's bound set and put back), time-limited prices (1), inventory.sell (6: savepoint,
# lock, update, movements, products' sold counts, release), the plan (1),
# the attribution (7: 3 reads, 4 savepoint statements), the order (3), lines and
# event (2), the shopper's "placed" notification (6: their settings, the site
# message's get-or-create (4), the email's delivery); then the session update (3).
PLACE_ORDER = 43 + (2 if settings.IS_POSTGRES else 0)


@pytest.fixture
def catalog_of(category):
    """catalog_of(n): n products with one variant each, made in two queries."""

    def make(n):
        products = Product.objects.bulk_create(
            Product(category=category, name=f"商品{i}", name_en=f"Item {i}", slug=f"item-{i}")
            for i in range(n)
        )
        return Variant.objects.bulk_create(
            Variant(product=p, name="500ml", sku=f"Q-{p.pk}", price=Decimal("20.00"), stock=50)
            for p in products
        )

    return make


@pytest.fixture
def shopping(client, shopper, catalog_of):
    """shopping(products=10, lines=1): a signed-in shopper with `lines` in the cart."""
    ShippingSettings.get_solo()  # the row exists, as it does after the first request
    saved_address(shopper)
    client.force_login(shopper)

    def start(products, lines):
        variants = catalog_of(products)
        for variant in variants[:lines]:
            client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 2})
        return variants[:lines]

    return start


SIZES = pytest.mark.parametrize(("products", "lines"), [(10, 1), (10, 3), (1000, 1), (1000, 3)])


@SIZES
@pytest.mark.parametrize(("page", "queries"), [("cart", CART_PAGE), ("checkout", CHECKOUT_PAGE)])
def test_the_page_has_a_fixed_number_of_queries(
    client, shopping, products, lines, page, queries, django_assert_num_queries
):
    shopping(products, lines)

    with django_assert_num_queries(queries):
        response = client.get(reverse(f"orders:{page}"))

    assert len(response.context["items"]) == lines


@SIZES
def test_placing_the_order_has_a_fixed_number_of_queries(
    client, shopper, shopping, products, lines, django_assert_num_queries
):
    shopping(products, lines)
    client.get(reverse("orders:checkout"))
    data = {
        "address": shopper.addresses.get().pk,
        "checkout_token": client.session["checkout_token"],
    }

    with django_assert_num_queries(PLACE_ORDER):
        response = client.post(reverse("orders:checkout"), data)

    order = Order.objects.get()
    assert response.url == order.get_absolute_url()
    assert order.lines.count() == lines
