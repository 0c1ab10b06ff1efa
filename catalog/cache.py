"""What the storefront caches about the catalog, and how a change makes it stale.

Each cached read (a page's HTML, a listing, a product page's body) is stored
with the versions of what it shows, its *tags*: every read shows ``ALL`` (the
whole catalog), and besides, the home page ``HOME``, the category index
``CATEGORIES``, search results ``SEARCH``, a category listing its category
(``category_tag(slug)``), a product page its product (``product_tag(slug)``)
and its category (the related products). A read is served from the cache only
while every tag still has the version it was built under; a change gives the
tags it makes stale a new version once its transaction commits
(``invalidate``), so every read that showed them is built afresh and the rest
stay cached (catalog.invalidation decides which tags a change touches).

A version is a random token, never a counter: a version key that was evicted
(or a cache that restarted) comes back as a token no entry was ever built
under, so nothing cached before is served again. A counter restarting at 1 or 2
would bring back the entries of its earlier life.

Ordering: a build reads each tag's version *before* the data the tag guards
(``depends_on``; ``cached`` does it for the tags it is given), and writers
move versions only after their commit, so an entry built from data older than
a change always carries a version older than the change's.

Sold counts ("1,234 sold", the best-selling order) are the one thing shown a
little late: a sale does not move any version unless it changes what a page
says of the stock (catalog.invalidation); it only stamps ``LAST_SALE_KEY``, and
an entry older than ``settings.CATALOG_SOLD_COUNT_LAG_SECONDS`` built before
the last sale is rebuilt. Sold counts are never more than that late.
"""

import secrets
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

ALL = "all"
HOME = "home"
CATEGORIES = "categories"
SEARCH = "search"
LAST_SALE_KEY = "catalog:last-sale"
_VERSION_PREFIX = "catalog:v:"


def product_tag(slug: str) -> str:
    return f"product:{slug}"


def category_tag(slug: str) -> str:
    return f"category:{slug}"


def _new_version() -> str:
    return secrets.token_hex(6)


def version_key(tag: str) -> str:
    """The cache key holding ``tag``'s version."""
    return _VERSION_PREFIX + tag


def versions(tags: Iterable[str]) -> dict[str, str]:
    """The current version of each tag (one cache round trip when all are known).

    A tag without a version (never used, evicted, or the cache restarted) gets a
    new token; with the cache down, a token of our own, which no entry is under.
    """
    tags = list(dict.fromkeys(tags))
    found = cache.get_many([version_key(tag) for tag in tags])
    current = {tag: found[version_key(tag)] for tag in tags if version_key(tag) in found}
    missing = [tag for tag in tags if tag not in current]
    if missing:
        for tag in missing:
            cache.add(version_key(tag), _new_version(), timeout=None)
        # another process may have added its token first: take the one that is there
        again = cache.get_many([version_key(tag) for tag in missing])
        for tag in missing:
            current[tag] = again.get(version_key(tag)) or _new_version()
    return current


def catalog_version() -> str:
    """The version of the whole catalog (``ALL``), for caches of their own (price windows)."""
    return versions([ALL])[ALL]


# The versions read by the build in progress (None outside one).
_recording: ContextVar[dict[str, str] | None] = ContextVar("catalog_cache_tags", default=None)


def depends_on(*tags: str) -> None:
    """Tell the build in progress that it shows ``tags``; call it *before* reading
    their data. Outside a build it does nothing."""
    recorded = _recording.get()
    if recorded is not None:
        wanted = [tag for tag in tags if tag not in recorded]
        if wanted:
            recorded.update(versions(wanted))


@dataclass(frozen=True)
class Entry:
    value: object
    versions: dict[str, str]
    built_at: float  # time.time() when the build started


def _is_current(entry: Entry, now: float) -> bool:
    keys = [version_key(tag) for tag in entry.versions]
    found = cache.get_many([*keys, LAST_SALE_KEY])
    if any(found.get(version_key(tag)) != version for tag, version in entry.versions.items()):
        return False
    if now - entry.built_at < settings.CATALOG_SOLD_COUNT_LAG_SECONDS:
        return True
    # no stamp (evicted, or the cache restarted): sales may have happened
    return found.get(LAST_SALE_KEY, now) <= entry.built_at


def cached(
    key: str,
    build: Callable[[], T],
    *,
    tags: Iterable[str],
    timeout: int,
    keep: Callable[[T], bool] | None = None,
) -> T:
    """The value under ``key`` while its tags keep their versions; else ``build()``,
    stored with the versions of ``tags`` (and ``ALL``) read before it and of every
    tag the build ``depends_on``. ``keep(value)`` false: served, not stored.

    Two round trips on a hit (the entry, then its versions). A build inside
    another one (a page's HTML around its listing) passes its tags up, also when
    it is served from the cache.
    """
    now = time.time()
    entry = cache.get(key)
    if isinstance(entry, Entry) and _is_current(entry, now):
        _pass_up(entry.versions)
        return entry.value
    recorded: dict[str, str] = {}
    token = _recording.set(recorded)
    try:
        depends_on(ALL, *tags)
        value = build()
    finally:
        _recording.reset(token)
    _pass_up(recorded)
    if keep is None or keep(value):
        cache.set(key, Entry(value, recorded, now), timeout)
    return value


def _pass_up(tag_versions: dict[str, str]) -> None:
    outer = _recording.get()
    if outer is not None:
        for tag, version in tag_versions.items():
            outer.setdefault(tag, version)


def invalidate(*tags: str) -> None:
    """Give ``tags`` new versions once the current transaction commits: every cached
    read that shows one of them is built afresh on its next request."""
    tags = set(tags)
    if tags:
        transaction.on_commit(lambda: renew(tags))


def renew(tags: Iterable[str]) -> None:
    """Give ``tags`` new versions now (after a commit; ``invalidate`` waits for it)."""
    cache.set_many({version_key(tag): _new_version() for tag in tags}, timeout=None)


def invalidate_everything() -> None:
    """Every cached catalog read is stale once the transaction commits (an import, a
    discount, a category edit: changes that show on most pages)."""
    invalidate(ALL)


def note_sales() -> None:
    """Stock was sold or put back: sold counts may be shown that much later at most."""
    transaction.on_commit(lambda: cache.set(LAST_SALE_KEY, time.time(), timeout=None))
