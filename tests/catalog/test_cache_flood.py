"""No client can fill the cache by asking for URLs: pages are keyed on what they understand."""

import pytest
from django.core.cache import cache
from django.urls import reverse

pytestmark = pytest.mark.django_db


def cached_keys() -> int:
    """How many entries the cache holds (local memory in unit tests, Redis in CI)."""
    if hasattr(cache, "_cache") and isinstance(cache._cache, dict):
        return len(cache._cache)
    return cache._cache.get_client().dbsize()


@pytest.fixture
def product_url(variant):
    return reverse("catalog:product", args=[variant.product.slug])


def test_junk_parameters_redirect_to_the_page_without_them(client, product_url):
    response = client.get(product_url + "?utm_source=wechat&x=1")
    assert response.status_code == 302
    assert response["Location"] == product_url
    assert client.get(response["Location"]).status_code == 200


def test_listing_keeps_its_own_parameters_once_each_in_a_fixed_order(client, variant):
    url = reverse("catalog:category", args=[variant.product.category.slug])
    response = client.get(url + "?page=1&junk=2&sort=best&sort=newest")
    assert response.status_code == 302
    assert response["Location"] == url + "?sort=best&page=1"
    # the same parameters in another order are the same page, under the same key
    client.get(url + "?sort=best&page=1")
    before = cached_keys()
    assert client.get(url + "?page=1&sort=best").status_code == 200
    assert cached_keys() == before
    # what the filter form itself submits is already canonical: no extra round trip
    submitted = url + "?min_price=&max_price=&in_stock=on&sort=price_asc"
    assert client.get(submitted).status_code == 200


def test_300_junk_urls_add_no_cache_keys(client, product_url):
    client.get(product_url)  # the page and the anonymous header, cached once
    client.get(reverse("catalog:home"))
    before = cached_keys()
    for n in range(300):
        assert client.get(f"{product_url}?junk={n}").status_code == 302
        assert client.get(reverse("catalog:home") + f"?n={n}").status_code == 302
    assert cached_keys() == before


def test_pages_past_the_last_and_bad_filters_are_served_but_not_stored(client, variant):
    url = reverse("catalog:category", args=[variant.product.category.slug])
    client.get(url)
    before = cached_keys()
    for n in range(2, 40):
        response = client.get(f"{url}?page={n}")
        assert response.status_code == 200
        assert variant.product.name in response.content.decode()  # the last page, clamped
    for n in range(20):
        response = client.get(f"{url}?min_price=x{n}")
        assert response.status_code == 200
    assert cached_keys() == before


def test_the_anonymous_header_links_back_without_junk(client, make_user):
    cart = reverse("orders:cart")
    body = client.get(cart + "?evil=%22%3E").content.decode()
    assert "evil" not in body
    assert f'?next={cart}"' in body
