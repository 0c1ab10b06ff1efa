"""The Redis cache backend (core.cache) behaves like Django's, with one client per pool."""

import pytest
from django.core.cache import cache

pytestmark = pytest.mark.redis


def test_it_stores_reads_counts_and_forgets():
    cache.set("t:k", {"price": "1.00"}, 30)
    assert cache.get("t:k") == {"price": "1.00"}
    cache.set("t:n", 1, 30)
    assert cache.incr("t:n") == 2
    cache.delete("t:k")
    assert cache.get("t:k", "gone") == "gone"


def test_every_call_shares_one_client_per_pool():
    clients = set()
    for n in range(5):
        cache.get(f"t:{n}")
        clients.add(id(cache._cache.get_client()))
    assert len(clients) == 1
