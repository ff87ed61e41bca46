"""Wake-up hints across processes: "the outbox has news", over Redis pub/sub.

A hint carries nothing: a bridge that misses one finds the change at its next poll
of the outbox. Publishing never blocks a request for long: after a failure the
publisher stays quiet for ``QUIET_SECONDS`` instead of timing out on every commit.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import redis
import redis.asyncio as aioredis

log = logging.getLogger("safenum.bridge.hints")

HINT_CHANNEL = "safenum:outbox"
QUIET_SECONDS = 5.0


class RedisHint:
    def __init__(self, redis_url: str) -> None:
        self._client = redis.Redis.from_url(
            redis_url, socket_timeout=0.25, socket_connect_timeout=0.25
        )
        self._quiet_until = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> None:
        if time.monotonic() < self._quiet_until:
            return
        try:
            self._client.publish(HINT_CHANNEL, b"")
        except redis.RedisError as exc:
            with self._lock:
                self._quiet_until = time.monotonic() + QUIET_SECONDS
            log.warning(
                "could not wake the bridges over Redis (%s); they poll the outbox",
                type(exc).__name__,
            )

    def close(self) -> None:
        self._client.close()


async def listen_for_hints(client: aioredis.Redis, wake: Callable[[], None]) -> None:
    """Call ``wake`` on every hint, for ever; a lost subscription is retried with backoff."""
    backoff = 0.1
    while True:
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(HINT_CHANNEL)
                backoff = 0.1
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        wake()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("outbox hint subscription lost (%s); retrying", type(exc).__name__)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
