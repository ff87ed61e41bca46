"""Fixed-window rate limits in Redis; keys never contain a phone (keyed hashes only)."""

from __future__ import annotations

import redis

from app_api.errors import RateLimited

PREFIX = "safenum:rl:"


class RateLimiter:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def hit(self, bucket: str, limit: int, window_seconds: int, what: str) -> None:
        """Count one request in ``bucket``; raise ``RateLimited`` past ``limit``."""
        key = PREFIX + bucket
        pipe = self.redis.pipeline()
        pipe.set(key, 0, ex=window_seconds, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = pipe.execute()
        if int(count) > limit:
            raise RateLimited(
                f"too many {what}: at most {limit} per {window_seconds // 60} minutes",
                retry_after=int(ttl),
            )
