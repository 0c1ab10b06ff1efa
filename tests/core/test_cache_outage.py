"""A cache outage degrades to uncached pages and database sessions, never to errors.

The cache is a Redis server of the test's own (tests/core/private_redis.py),
stopped (or frozen with SIGSTOP, as an unreachable host) in the middle of a
visit. Sessions are `cached_db` on it, as in production.
"""

import logging
import signal
import threading
import time

import pytest
from django.core.cache import cache
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456-long"


@pytest.fixture
def redis_cache(settings, private_redis, monkeypatch):
    """The default cache and the sessions on the private Redis, as in production."""
    from core import cache as core_cache

    monkeypatch.setattr(core_cache, "_outages", {})  # no state left by an earlier test
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": private_redis.url(),
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.CACHE_RETRY_SECONDS = 0  # try Redis on every call: the worst case
    cache.set("probe", 1)
    assert cache.get("probe") == 1  # really on Redis
    return private_redis


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"


def sign_in(client, username):
    response = client.post(reverse("accounts:login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]


def test_the_storefront_login_cart_and_checkout_work_with_the_cache_down(
    client, redis_cache, shopper, make_variant, english
):
    # given: a shopper signed in, a product in the cart, pages cached
    variant = make_variant(price="50.00")
    product = variant.product
    pages = [
        reverse("catalog:home"),
        reverse("catalog:category", args=[product.category.slug]),
        reverse("catalog:product", args=[product.slug]),
    ]
    for url in pages:
        assert client.get(url).status_code == 200
    sign_in(client, shopper.username)
    client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 2})

    # when: the cache's Redis dies
    redis_cache.stop()

    # then: every page answers, uncached, and the session (in the database) holds
    for url in pages:
        assert client.get(url).status_code == 200, url
    assert product.name_en in client.get(pages[2]).content.decode()
    cart = client.get(reverse("orders:cart"))
    assert cart.status_code == 200
    assert product.name_en in cart.content.decode()
    checkout = client.get(reverse("orders:checkout"))
    assert checkout.status_code == 200  # still signed in: not sent to the login page


def test_signing_in_during_the_outage_keeps_the_shopper_signed_in(
    client, redis_cache, shopper, english
):
    redis_cache.stop()

    assert client.get(reverse("accounts:login")).status_code == 200
    sign_in(client, shopper.username)

    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 200
    assert response.wsgi_request.user == shopper


def test_an_unreachable_cache_costs_a_timeout_then_is_skipped(
    client, redis_cache, settings, caplog
):
    # given: Redis frozen (SIGSTOP): connections hang rather than being refused
    settings.CACHE_RETRY_SECONDS = 30
    redis_cache.process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="core.cache"):
            for _ in range(3):
                assert client.get(reverse("catalog:home")).status_code == 200
        elapsed = time.monotonic() - started
    finally:
        redis_cache.process.send_signal(signal.SIGCONT)

    # then: the first call waited for its timeout, the rest skipped the cache
    assert elapsed < 3, f"three pages took {elapsed:.1f}s"
    warnings = [r for r in caplog.records if r.name == "core.cache"]
    assert len(warnings) == 1  # rate-limited: one warning, not one per call


def test_signing_out_during_an_outage_is_not_undone_when_the_cache_comes_back(
    client, redis_cache, shopper, english
):
    # given: a signed-in shopper whose session is cached in Redis
    sign_in(client, shopper.username)
    assert client.get(reverse("accounts:profile")).status_code == 200

    # when: Redis hangs while they sign out, then comes back with its old data
    redis_cache.process.send_signal(signal.SIGSTOP)
    try:
        client.post(reverse("accounts:logout"))
    finally:
        redis_cache.process.send_signal(signal.SIGCONT)

    # then: the stale cached session is not served again
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response.url


def in_another_thread(call):
    """``call()`` in a new thread, which Django gives a cache object of its own."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", call()))
    thread.start()
    thread.join(timeout=10)
    return result["value"]


def test_a_delete_lost_in_one_thread_is_repaired_before_another_thread_reads(redis_cache):
    # given: a cached value (a session, say), then Redis hangs while one thread deletes it
    cache.set("session:x", "signed in")
    redis_cache.process.send_signal(signal.SIGSTOP)
    try:
        in_another_thread(lambda: cache.delete("session:x"))
    finally:
        redis_cache.process.send_signal(signal.SIGCONT)

    # when: Redis is back and another thread of the same process reads it
    value = in_another_thread(lambda: cache.get("session:x", "gone"))

    # then: the stale value is not served
    assert value == "gone"


def test_a_cache_lock_is_never_granted_while_the_cache_is_down(redis_cache):
    redis_cache.stop()

    assert cache.add("lock:x", 1, timeout=10) is False
    assert cache.get("lock:x", "miss") == "miss"
    with pytest.raises(ValueError):
        cache.incr("counter:x")
    assert cache.get_or_set("k", 5) == 5  # computed, not stored


def test_a_catalog_change_during_the_outage_shows_once_the_cache_is_back(
    client, redis_cache, make_variant, english, django_capture_on_commit_callbacks
):
    from decimal import Decimal

    from catalog.services import set_variant_price

    # given: a product page cached at 50.00, then Redis hangs
    variant = make_variant(price="50.00", stock=10)
    url = reverse("catalog:product", args=[variant.product.slug])
    assert client.get(url).status_code == 200
    redis_cache.process.send_signal(signal.SIGSTOP)
    try:
        # when: the price changes during the outage (the version bump is lost)
        with django_capture_on_commit_callbacks(execute=True):
            set_variant_price(variant, price=Decimal("80.00"))
    finally:
        redis_cache.process.send_signal(signal.SIGCONT)

    # then: once Redis answers again the page shows the new price, not the cached one
    page = client.get(url).content.decode()
    assert "80.00" in page
