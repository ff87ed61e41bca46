"""RedisSenderHistory against a real redis-server: counts, blocks, rate, TTLs, races."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis

from blocking.filter import MessageFilter
from blocking.sender_redis import MAX_TRACKED, RedisSenderHistory, SenderHistoryUnavailable
from tests.conftest import free_port, wait_until

KEY = b"test-hmac-key-0123456789abcdef"
SENDER = "01098765432"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def client(redis_url: str):
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


@pytest.fixture
def prefix() -> str:
    """A fresh key space per test, so tests share no state and need no FLUSHDB."""
    return f"test:{uuid.uuid4().hex}:"


def history(client, prefix: str, **kw) -> RedisSenderHistory:
    return RedisSenderHistory(client, KEY, prefix=prefix, **kw)


def safe_number(i: int) -> str:
    return f"0504{i:07d}"


def test_distinct_recipients_in_window(client, prefix):
    h = history(client, prefix, window=timedelta(minutes=10), max_recipients=50)
    for i in range(4):
        stats = h.record(SENDER, safe_number(i), T0 + timedelta(minutes=i))
    assert stats.distinct_recipients == 4
    stats = h.record(SENDER, safe_number(0), T0 + timedelta(minutes=4))
    assert stats.distinct_recipients == 4  # the same number again is not a new one
    stats = h.record(SENDER, safe_number(9), T0 + timedelta(minutes=12, seconds=30))
    assert stats.distinct_recipients == 3  # 1 and 2 fell out; 0 (again at 4') and 3 stay
    assert not stats.rate_limited
    assert stats.blocked_until is None
    assert h.record("01011112222", safe_number(1), T0).distinct_recipients == 1


def test_burst_blocks_sender_on_every_number_until_the_block_ends(client, prefix):
    h = history(client, prefix, max_recipients=3, block_for=timedelta(hours=1), rate_limit=100)
    for i in range(3):
        stats = h.record(SENDER, safe_number(i), T0 + timedelta(seconds=i))
    assert stats.blocked_until == T0 + timedelta(seconds=2, hours=1)
    later = T0 + timedelta(minutes=30)  # burst out of the window, block still on
    stats = h.record(SENDER, safe_number(99), later)
    assert stats.distinct_recipients == 1
    assert stats.blocked_until is not None
    verdict = MessageFilter.default().judge("차 좀 빼주세요", sender=SENDER, stats=stats)
    assert verdict.blocked
    assert any("blocked until" in r for r in verdict.reasons)
    stats = h.record(SENDER, safe_number(99), T0 + timedelta(hours=1, minutes=1))
    assert stats.blocked_until is None
    assert not MessageFilter.default().judge("차 좀 빼주세요", stats=stats).blocked


def test_rate_limit_per_minute(client, prefix):
    h = history(client, prefix, rate_limit=5)
    seen = [h.record(SENDER, safe_number(1), T0 + timedelta(seconds=i)) for i in range(6)]
    assert [s.texts_last_minute for s in seen] == [1, 2, 3, 4, 5, 6]
    assert [s.rate_limited for s in seen] == [False] * 5 + [True]
    assert "6 texts in the last minute" in seen[-1].describe()
    calm = h.record(SENDER, safe_number(1), T0 + timedelta(minutes=1, seconds=6))
    assert calm.texts_last_minute == 1
    assert not calm.rate_limited


def test_no_phone_number_in_redis_and_every_key_expires(client, prefix):
    h = history(client, prefix, max_recipients=2)
    h.record(SENDER, safe_number(7), T0)
    h.record(SENDER, safe_number(8), T0)
    keys = [k.decode() for k in client.scan_iter(match=prefix + "*")]
    assert len(keys) == 4
    stored = " ".join(keys)
    for key in keys:
        assert 0 < client.pttl(key) <= timedelta(hours=1).total_seconds() * 1000
        if client.type(key) == b"zset":
            stored += " ".join(m.decode() for m in client.zrange(key, 0, -1))
        elif client.type(key) == b"string":
            stored += client.get(key).decode()
    for secret in (SENDER, SENDER[1:], safe_number(7), safe_number(8)):
        assert secret not in stored
    other_key = RedisSenderHistory(client, b"another-key-0123456789", prefix=prefix)
    assert other_key.keys(SENDER) != h.keys(SENDER)


def test_keys_expire_in_real_time(client, prefix):
    h = history(
        client,
        prefix,
        window=timedelta(milliseconds=200),
        rate_window=timedelta(milliseconds=200),
        max_recipients=50,
    )
    h.record(SENDER, safe_number(1), datetime.now(UTC))
    assert client.exists(*h.keys(SENDER)[:2]) == 2
    wait_until(
        lambda: client.exists(*h.keys(SENDER)) == 0,
        timeout=10,
        interval=0.05,
        what="sender keys to expire",
    )


def test_sets_are_capped(client, prefix):
    h = history(client, prefix, max_recipients=10_000, rate_limit=10_000)
    pipe_at = T0
    for i in range(MAX_TRACKED + 20):
        stats = h.record(SENDER, safe_number(i), pipe_at)
    assert stats.distinct_recipients == MAX_TRACKED
    rcpt, sent, _seq, _blocked = h.keys(SENDER)
    assert client.zcard(rcpt) == MAX_TRACKED
    assert client.zcard(sent) == MAX_TRACKED


def test_concurrent_records_are_atomic(client, prefix, redis_url):
    h = history(client, prefix, max_recipients=10_000, rate_limit=10_000)
    counts: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(w: int) -> None:
        own = RedisSenderHistory(
            redis.Redis.from_url(redis_url),
            KEY,
            prefix=prefix,
            max_recipients=10_000,
            rate_limit=10_000,
        )
        barrier.wait()
        for i in range(25):
            stats = own.record(SENDER, safe_number(w * 100 + i), T0)
            with lock:
                counts.append(stats.distinct_recipients)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Each record saw the set exactly as the previous one left it: 1, 2, ..., 200.
    assert sorted(counts) == list(range(1, 201))
    assert h.record(SENDER, safe_number(9999), T0).distinct_recipients == 201


def test_configuration_errors(client, prefix):
    with pytest.raises(ValueError, match="16 bytes"):
        RedisSenderHistory(client, b"short")
    with pytest.raises(ValueError, match="timezone"):
        history(client, prefix).record(SENDER, safe_number(1), datetime(2024, 1, 1))


def test_unreachable_redis_is_a_typed_error():
    dead = redis.Redis(port=free_port(), socket_connect_timeout=0.5)
    with pytest.raises(SenderHistoryUnavailable):
        RedisSenderHistory(dead, KEY).record(SENDER, safe_number(1), T0)


def test_a_pipelined_batch_counts_as_the_same_texts_one_by_one(client, prefix):
    other = "01011112222"
    texts = [(SENDER, safe_number(i % 4)) for i in range(6)] + [(other, safe_number(0))]
    texts += [(SENDER, safe_number(i)) for i in range(4, 8)]
    batched = history(client, prefix, max_recipients=6, rate_limit=8).record_many(texts, T0)
    alone = history(client, f"{prefix}alone:", max_recipients=6, rate_limit=8)
    one_by_one = [alone.record(sender, number, T0) for sender, number in texts]
    assert batched == one_by_one
    assert [s.distinct_recipients for s in batched] == [1, 2, 3, 4, 4, 4, 1, 5, 6, 7, 8]
    assert batched[-1].blocked_until is not None  # the 6th number: a burst, in the batch
    assert [s.rate_limited for s in batched][8:10] == [False, True]  # SENDER's 9th text
