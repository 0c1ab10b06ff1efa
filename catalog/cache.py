"""One version number for everything the storefront caches about the catalog.

Cached pages and fragments put ``catalog_version()`` in their key; any change a
shopper could see (a price, stock, a product or category edit) calls
``bump_catalog_version()``, which moves the number after the transaction
commits, so every old entry is simply never read again and expires on its own.
"""

from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "catalog:version"


def catalog_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY, 1)
    return version


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # the key was evicted: any new number invalidates
        cache.add(VERSION_KEY, 2, timeout=None)


def bump_catalog_version() -> None:
    """Invalidate every cached catalog read, once the current transaction commits."""
    transaction.on_commit(_bump)
