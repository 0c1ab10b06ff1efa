"""A change makes stale only the cached pages that show it, and nothing stale is ever served.

"Served from the cache" is seen as a page served with the queries of a cached one (the
visitor's own parts: the offers of a product page); "rebuilt" as one with more.
"""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from catalog import cache as catalog_cache
from catalog import inventory, services
from catalog.models import Category, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(category, make_variant):
    """Two baijiu products (plenty in stock, and 11: one sale from "only 10 left") and a
    wine in a category of its own."""
    wine = Category.objects.create(name="葡萄酒", name_en="Wine", slug="wine")
    plenty, few, red = make_variant(stock=50), make_variant(stock=11), make_variant(stock=50)
    Product.objects.filter(pk=red.product_id).update(category=wine)
    red.product.refresh_from_db()
    return {"plenty": plenty, "few": few, "red": red, "baijiu": category, "wine": wine}


def url_of(what) -> str:
    if isinstance(what, Category):
        return reverse("catalog:category", args=[what.slug])
    return what.product.get_absolute_url()


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


class Pages:
    """Pages served once (so cached), and how many queries each takes when cached."""

    def __init__(self, client, *urls):
        self.client, self.cached = client, {}
        for url in urls:
            built = queries(client, url)
            self.cached[url] = queries(client, url)
            assert self.cached[url] < built

    def rebuilt(self, *urls) -> list[bool]:
        return [queries(self.client, url) > self.cached[url] for url in urls]


def sell(variant, quantity, on_commit):
    with on_commit(execute=True):
        inventory.sell([(variant.pk, quantity)], reference="TEST")


HOME, CATEGORIES = reverse("catalog:home"), reverse("catalog:categories")
SEARCH = reverse("catalog:search") + "?q=Liquor"


def test_a_sale_that_does_not_change_what_pages_say_keeps_every_page_cached(
    client, shop, django_capture_on_commit_callbacks
):
    urls = [url_of(shop["plenty"]), url_of(shop["few"]), url_of(shop["baijiu"]), HOME, SEARCH]
    pages = Pages(client, *urls)
    sell(shop["plenty"], 1, django_capture_on_commit_callbacks)  # 50 -> 49: still "in stock"
    assert pages.rebuilt(*urls) == [False] * len(urls)


def test_a_sale_into_the_last_ten_shows_at_once_where_the_product_shows_and_nowhere_else(
    client, shop, django_capture_on_commit_callbacks
):
    showing = [url_of(shop["few"]), url_of(shop["plenty"]), url_of(shop["baijiu"]), HOME, SEARCH]
    elsewhere = [url_of(shop["red"]), url_of(shop["wine"]), CATEGORIES]
    pages = Pages(client, *showing, *elsewhere)
    sell(shop["few"], 1, django_capture_on_commit_callbacks)  # 11 -> 10: "only 10 left"
    # its page, its category's pages (a product page lists its category's related
    # products), home (the newest products fill it), search
    assert pages.rebuilt(*showing) == [True] * len(showing)
    assert pages.rebuilt(*elsewhere) == [False] * len(elsewhere)
    assert "badge-warning" in client.get(url_of(shop["few"])).content.decode()
    # inside the last ten every sale shows: the number left is on the page
    sell(shop["few"], 1, django_capture_on_commit_callbacks)
    assert pages.rebuilt(url_of(shop["few"])) == [True]


def test_selling_out_shows_sold_out_and_leaves_in_stock_listings(
    client, shop, django_capture_on_commit_callbacks
):
    few = shop["few"]
    in_stock = url_of(shop["baijiu"]) + "?in_stock=on"
    assert f'value="{few.pk}"' in client.get(url_of(few)).content.decode()
    assert few.product.slug in client.get(in_stock).content.decode()
    sell(few, 11, django_capture_on_commit_callbacks)
    page = client.get(url_of(few)).content.decode()
    assert f'value="{few.pk}" checked disabled' in page  # the only size, sold out
    assert few.product.slug not in client.get(in_stock).content.decode()
    # and the stock that comes back shows as soon as it is received
    with django_capture_on_commit_callbacks(execute=True):
        inventory.receive(few, 30, actor=None)
    assert f'value="{few.pk}" checked>' in client.get(url_of(few)).content.decode()


def test_sold_counts_follow_within_the_lag_and_not_before(
    client, shop, settings, django_capture_on_commit_callbacks
):
    plenty = shop["plenty"]
    sold = "3 sold"
    with translation.override("en"):
        url = url_of(plenty)
        assert sold not in client.get(url).content.decode()
        sell(plenty, 3, django_capture_on_commit_callbacks)
        assert sold not in client.get(url).content.decode()  # shown a little late
        settings.CATALOG_SOLD_COUNT_LAG_SECONDS = 0  # the lag has passed
        assert sold in client.get(url).content.decode()


def test_a_price_change_shows_on_the_pages_that_show_the_product_only(
    client, shop, django_capture_on_commit_callbacks
):
    plenty = shop["plenty"]
    elsewhere = [url_of(shop["red"]), url_of(shop["wine"]), CATEGORIES]
    pages = Pages(client, url_of(plenty), url_of(shop["baijiu"]), HOME, *elsewhere)
    with django_capture_on_commit_callbacks(execute=True):
        services.set_variant_price(plenty, price=Decimal("88.00"))
    assert "¥88.00" in client.get(url_of(plenty)).content.decode()
    assert "¥88.00" in client.get(url_of(shop["baijiu"])).content.decode()
    assert "¥88.00" in client.get(HOME).content.decode()
    assert pages.rebuilt(*elsewhere) == [False] * len(elsewhere)


def test_an_edit_that_renames_and_moves_a_product_clears_where_it_was(
    client, admin_client, shop, django_capture_on_commit_callbacks
):
    plenty, wine = shop["plenty"], shop["wine"]
    old_url = url_of(plenty)
    Pages(client, old_url, url_of(shop["baijiu"]), url_of(wine), url_of(shop["red"]))
    product = plenty.product
    data = {
        "category": wine.pk,
        "name": "新名字",
        "name_en": "New name",
        "slug": "new-name",
        "is_active": "on",
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "1",
        "variants-0-id": plenty.pk,
        "variants-0-product": product.pk,
        "variants-0-name": plenty.name,
        "variants-0-sku": plenty.sku,
        "variants-0-price": "100.00",
        "variants-0-is_active": "on",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "specs-TOTAL_FORMS": "0",
        "specs-INITIAL_FORMS": "0",
    }
    change = reverse("admin:catalog_product_change", args=[product.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(change, data)
    assert response.status_code == 302
    assert client.get(old_url).status_code == 404
    assert "新名字" not in client.get(url_of(shop["baijiu"])).content.decode()
    assert "新名字" in client.get(url_of(wine)).content.decode()
    # the wine beside it lists it among its related products now
    assert "新名字" in client.get(url_of(shop["red"])).content.decode()


def test_an_evicted_version_never_brings_back_a_page_cached_before(
    client, shop, django_capture_on_commit_callbacks
):
    plenty, url = shop["plenty"], url_of(shop["plenty"])
    pages = Pages(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        services.set_variant_price(plenty, price=Decimal("200.00"))
    assert "¥200.00" in client.get(url).content.decode()  # cached under the new version
    # the cache evicts the versions (memory pressure, a restart of the version keys)
    tags = [catalog_cache.ALL, catalog_cache.product_tag(plenty.product.slug)]
    tags += [catalog_cache.category_tag(shop["baijiu"].slug), catalog_cache.SEARCH]
    cache.delete_many([catalog_cache.version_key(tag) for tag in tags])
    assert pages.rebuilt(url) == [True]  # an unknown version serves nothing it holds
    with django_capture_on_commit_callbacks(execute=True):
        services.set_variant_price(plenty, price=Decimal("300.00"))
    cache.delete_many([catalog_cache.version_key(tag) for tag in tags])
    with django_capture_on_commit_callbacks(execute=True):
        services.set_variant_price(plenty, price=Decimal("400.00"))
    body = client.get(url).content.decode()
    assert "¥400.00" in body and "¥200.00" not in body and "¥300.00" not in body


def test_a_change_committed_during_a_build_makes_that_build_stale():
    """The build reads its versions before its data: an entry built from data a writer
    changed meanwhile carries the version from before the change."""
    tag, shown = "test:thing", {"value": "old"}
    builds = []

    def build():
        builds.append(shown["value"])
        value = shown["value"]
        shown["value"] = "new"  # a writer changes the data and, after its commit,
        catalog_cache.renew([tag])  # gives the tag a new version, while we build
        return value

    assert catalog_cache.cached("test:key", build, tags=[tag], timeout=60) == "old"
    assert catalog_cache.cached("test:key", lambda: shown["value"], tags=[tag], timeout=60) == (
        "new"
    )
    assert catalog_cache.cached("test:key", build, tags=[tag], timeout=60) == "new"
    assert builds == ["old"]  # the third read was served from the second's entry
