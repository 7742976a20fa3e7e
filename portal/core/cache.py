"""The cache every process shares: throttle counters, sign-in attempt counts, claims.

Redis when one is configured (CACHE_URL, or the broker's own Redis), else a table in the
database. Never a per-process memory cache: with several web processes each would keep its own
counts and an attacker would get the limit once per process.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache

CACHE_TABLE = "stemvault_cache"
KEY_PREFIX = "stemvault"


class PrefixedRedisCache(RedisCache):
    """Django's Redis cache whose clear() deletes only its own keys.

    Django's clear() is FLUSHDB; the cache may share its Redis database with the broker (the
    default when BROKER_URL is a redis:// URL), and flushing would drop every queued message.
    """

    def clear(self) -> None:
        if not self.key_prefix:
            raise RuntimeError("PrefixedRedisCache needs a KEY_PREFIX to know which keys it owns")
        client = self._cache.get_client(None, write=True)  # type: ignore[attr-defined]
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{self.key_prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)
