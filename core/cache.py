"""Django's Redis cache, with one redis-py client per connection pool.

Django's RedisCacheClient builds a new ``redis.Redis`` object for every cache
call; redis-py 5+ fills a table of about 200 response callbacks in each one, a
third of a millisecond that a cached storefront page paid three times per
request. A ``redis.Redis`` is safe to share between threads (the pool hands out
connections), so each pool gets one, made on first use.
"""

from django.core.cache.backends import redis as django_redis


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


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
