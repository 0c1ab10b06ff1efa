"""Django's Redis cache, with one redis-py client per pool, that survives an outage.

One client per pool: Django's RedisCacheClient builds a new ``redis.Redis``
object for every cache call; redis-py 5+ fills a table of about 200 response
callbacks in each one, a third of a millisecond that a cached storefront page
paid three times per request. A ``redis.Redis`` is safe to share between
threads (the pool hands out connections), so each pool gets one, made on first
use.

An outage degrades, never errors: the storefront, its sessions (cached_db
falls back to the database) and checkout keep working when Redis is down or
unreachable. A connection error or timeout is logged (a warning at most once a
minute per process) and the call behaves as a miss: reads return the default,
writes do nothing, ``add`` returns False (so a cache lock is never granted
without Redis) and ``incr`` raises ValueError as for a missing key. After an
error the cache is skipped for ``CACHE_RETRY_SECONDS`` so a request does not
wait on every call; the socket timeouts in settings bound the first one.

Writes lost during an outage would leave stale entries behind once Redis is
back (a session the shopper logged out of, a catalog version not bumped). This
process remembers the keys it failed to write or delete (up to
MAX_REMEMBERED) and, on the first call that succeeds again, deletes them
(and re-applies failed ``incr``), so they are read from the database again.

Django gives each thread its own cache object (gunicorn runs gthread workers),
so this outage state lives in one ``_Outage`` per process and server, shared by
all of them: a logout whose delete failed in one thread is repaired before any
other thread reads that session again.
"""

import contextlib
import functools
import logging
import threading
import time

from django.conf import settings
from django.core.cache.backends import redis as django_redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError)
WARNING_INTERVAL = 60  # seconds between two warnings of one process
MAX_REMEMBERED = 10_000  # keys to repair after an outage


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


def _missing_key(*args, **kwargs):
    raise ValueError("cache unavailable")


def _tolerant(on_outage, remember=None):
    """Run the cache call; on a Redis outage, log, remember what to repair, and
    return ``on_outage(*args, **kwargs)`` instead."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            outage = self._outage
            if not outage.is_down():
                try:
                    if outage.to_repair:  # back after an outage: first undo what it left
                        outage.repair(self._cache)
                    return method(self, *args, **kwargs)
                except OUTAGE_ERRORS as exc:
                    outage.went_down(method.__name__, exc)
            if remember is not None:
                outage.remember(self, remember(*args, **kwargs))
            return on_outage(*args, **kwargs)

        return wrapper

    return decorate


def _get_default(key, default=None, version=None):
    return default


def _key(key, *args, version=None, **kwargs):
    return [(key, version, None)]


def _incr_key(key, delta=1, version=None):
    return [(key, version, delta)]


def _many_keys(keys, *args, version=None, **kwargs):
    return [(key, version, None) for key in keys]


class _Outage:
    """One server's outage state in this process, shared by every thread's cache object."""

    def __init__(self):
        self.down_until = 0.0
        self.last_warning = 0.0
        self.lock = threading.Lock()
        # full Redis key -> None (delete it) or the incr delta still to apply
        self.to_repair: dict[str, int | None] = {}

    def is_down(self) -> bool:
        return time.monotonic() < self.down_until

    def went_down(self, operation: str, exc: Exception) -> None:
        now = time.monotonic()
        self.down_until = now + getattr(settings, "CACHE_RETRY_SECONDS", 5)
        if now - self.last_warning >= WARNING_INTERVAL or not self.last_warning:
            self.last_warning = now
            logger.warning("cache unavailable (%s: %r): serving without it", operation, exc)

    def remember(self, cache, entries) -> None:
        with self.lock:
            for key, version, delta in entries:
                if len(self.to_repair) >= MAX_REMEMBERED:
                    logger.error("cache outage: too many writes lost; some entries may be stale")
                    return
                # The full key: the cache object (and its key function) that repairs it
                # may be another thread's.
                item = cache.make_and_validate_key(key, version=version)
                if delta is None or (item in self.to_repair and self.to_repair[item] is None):
                    self.to_repair[item] = None  # a delete repairs everything
                else:
                    self.to_repair[item] = self.to_repair.get(item, 0) + delta

    def repair(self, client) -> None:
        """Delete (or re-count) what the outage left stale, through Django's ``client``."""
        with self.lock:
            pending, self.to_repair = self.to_repair, {}
        try:
            for item, delta in pending.items():
                if delta is None:
                    client.delete(item)
                else:
                    with contextlib.suppress(ValueError):  # gone: its readers start afresh
                        client.incr(item, delta)
        except OUTAGE_ERRORS:
            with self.lock:
                for item, delta in pending.items():
                    self.to_repair.setdefault(item, delta)
            raise
        logger.info("cache back: %s entries written during the outage were reset", len(pending))


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_of(server) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(str(server), _Outage())


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
        self._outage = _outage_of(server)

    # --- the cache API, each call tolerant of an outage -----------------------
    @_tolerant(_get_default)
    def get(self, key, default=None, version=None):
        return super().get(key, default, version)

    @_tolerant(lambda *a, **k: {})
    def get_many(self, keys, version=None):
        return super().get_many(keys, version)

    @_tolerant(lambda *a, **k: False)
    def has_key(self, key, version=None):
        return super().has_key(key, version)

    @_tolerant(lambda *a, **k: False)
    def add(self, key, value, timeout=django_redis.DEFAULT_TIMEOUT, version=None):
        return super().add(key, value, timeout, version)

    @_tolerant(lambda *a, **k: None, remember=_key)
    def set(self, key, value, timeout=django_redis.DEFAULT_TIMEOUT, version=None):
        return super().set(key, value, timeout, version)

    @_tolerant(lambda *a, **k: False, remember=_key)
    def touch(self, key, timeout=django_redis.DEFAULT_TIMEOUT, version=None):
        return super().touch(key, timeout, version)

    @_tolerant(lambda *a, **k: False, remember=_key)
    def delete(self, key, version=None):
        return super().delete(key, version)

    @_tolerant(_missing_key, remember=_incr_key)
    def incr(self, key, delta=1, version=None):
        return super().incr(key, delta, version)

    @_tolerant(lambda data, *a, **k: list(data), remember=_many_keys)
    def set_many(self, data, timeout=django_redis.DEFAULT_TIMEOUT, version=None):
        return super().set_many(data, timeout, version)

    @_tolerant(lambda *a, **k: None, remember=_many_keys)
    def delete_many(self, keys, version=None):
        return super().delete_many(keys, version)

    @_tolerant(lambda *a, **k: False)
    def clear(self):
        return super().clear()
