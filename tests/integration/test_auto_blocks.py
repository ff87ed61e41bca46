"""Automatic blocks of number-sweeping callers: real Redis, the real migrated database.

The guard counts a caller's distinct safe numbers in Redis and records the block in
``global_blocks``, which is what the bridge replicates into ``safenum/block/all``;
tests/pbx proves that the dialplan refuses a key found there.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import inspect, select, text

from app_api.main import _sweep_forever, sweep_once
from app_api.migrate import downgrade, upgrade
from app_api.wiring import Core
from blocking.blocks import AUTO, BlockService, GlobalBlockView
from blocking.sweep import CallerSweepGuard
from numbering.models import AuditEntry
from numbering.outbox import ChangeKind, Outbox
from tests.conftest import Clock, free_port

# The API fixtures (an app on this test's database, no Asterisk) for the operators' view.
from tests.integration.api.conftest import Api, api, api_settings, client, sender  # noqa: F401

KEY, OTHER, MANUAL = "c" * 20, "e" * 20, "f" * 20


def number(i: int) -> str:
    return f"0504{i:08d}"


def make_guard(core: Core, redis_client: redis.Redis) -> CallerSweepGuard:
    s = core.settings
    return CallerSweepGuard.over_redis(
        redis_client,
        uuid.uuid4().bytes + b"-caller-sweep",  # a fresh key space per test
        core.sessions.begin,
        numbers=s.caller_sweep_numbers,
        window=timedelta(minutes=s.caller_sweep_window_minutes),
        block_for=timedelta(hours=s.caller_sweep_block_hours),
    )


@pytest.fixture
def guard(core: Core, redis_url: str) -> Iterator[CallerSweepGuard]:
    redis_client = redis.Redis.from_url(redis_url)
    yield make_guard(core, redis_client)
    redis_client.close()


def blocks(core: Core) -> list[GlobalBlockView]:
    with core.sessions.begin() as session:
        return BlockService(session, core.clock).global_blocks(None, 100)


def replicated(core: Core) -> frozenset[str]:
    with core.sessions.begin() as session:
        return BlockService(session, core.clock).replica_values().keys


def actions(core: Core) -> list[str]:
    with core.sessions.begin() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def block_by_hand(core: Core, key: str, note: str = "by hand") -> GlobalBlockView:
    with core.sessions.begin() as session:
        return BlockService(session, core.clock, "operator:1").block_globally(
            caller_key=key, note=note
        )


def auto_block(core: Core, key: str, until: datetime) -> bool:
    with core.sessions.begin() as session:
        return BlockService(session, core.clock, AUTO).auto_block(key, until, "test")


def sweep(guard: CallerSweepGuard, key: str, count: int, start: datetime) -> list[bool]:
    """``key`` dials ``count`` distinct numbers, 20 seconds apart."""
    return [
        guard.note_call(key, number(i), start + timedelta(seconds=20 * i)) for i in range(count)
    ]


def test_blocked_at_the_limit_of_distinct_numbers_within_the_window(
    core: Core, guard: CallerSweepGuard, clock: Clock
) -> None:
    limit = core.settings.caller_sweep_numbers
    hours = core.settings.caller_sweep_block_hours
    assert sweep(guard, KEY, limit - 1, clock.now) == [False] * (limit - 1)
    assert blocks(core) == []
    assert replicated(core) == frozenset()

    at = clock.now + timedelta(minutes=9, seconds=59)  # still inside the first call's window
    assert guard.note_call(KEY, number(limit - 1), at) is True
    [block] = blocks(core)
    assert (block.caller_key, block.created_by) == (KEY, "auto")
    assert block.expires_at == at + timedelta(hours=hours)
    assert block.note == f"dialled {limit} safe numbers in 10 minutes"
    assert replicated(core) == frozenset({KEY})
    assert actions(core) == ["caller.blocked_automatically"]

    # Sweeping on extends the block; AstDB already holds the key: nothing to push.
    later = at + timedelta(seconds=1)
    assert guard.note_call(KEY, number(limit), later) is False
    [block] = blocks(core)
    assert block.expires_at == later + timedelta(hours=hours)
    assert block.note == f"dialled {limit + 1} safe numbers in 10 minutes"
    assert actions(core) == ["caller.blocked_automatically"]
    # Other callers are counted on their own.
    assert guard.note_call(OTHER, number(0), later) is False
    assert replicated(core) == frozenset({KEY})


def test_numbers_dialled_further_apart_than_the_window_do_not_add_up(
    core: Core, guard: CallerSweepGuard, clock: Clock
) -> None:
    limit = core.settings.caller_sweep_numbers
    # Every 2 minutes: a 10-minute window never holds more than 6 of them.
    got = [
        guard.note_call(KEY, number(i), clock.now + timedelta(minutes=2 * i))
        for i in range(3 * limit)
    ]
    assert not any(got)
    assert blocks(core) == []


def test_the_same_numbers_again_do_not_count(
    core: Core, guard: CallerSweepGuard, clock: Clock
) -> None:
    limit = core.settings.caller_sweep_numbers
    at = clock.now
    for i in range(5 * limit):  # a caller trying two cars over and over
        assert not guard.note_call(KEY, number(i % 2), at + timedelta(seconds=i))
    assert blocks(core) == []


def test_withheld_callers_and_malformed_events_are_never_blocked(
    core: Core, guard: CallerSweepGuard, clock: Clock
) -> None:
    limit = core.settings.caller_sweep_numbers
    for key in ("anonymous", "", "C" * 20, "c" * 19):
        assert sweep(guard, key, 3 * limit, clock.now) == [False] * (3 * limit)
    assert guard.history.client.exists(*guard.history.keys("anonymous")) == 0  # not even counted
    for bad in ("", "0104" + "0" * 8, "0504-1234-5678", "05041234567"):
        assert guard.note_call(KEY, bad, clock.now) is False
    assert blocks(core) == []


def test_an_operators_block_is_never_replaced_or_expired(
    core: Core, guard: CallerSweepGuard, clock: Clock
) -> None:
    limit = core.settings.caller_sweep_numbers
    manual = block_by_hand(core, KEY, "sweeps the car park")
    assert sweep(guard, KEY, 2 * limit, clock.now) == [False] * (2 * limit)
    assert blocks(core) == [manual]
    assert (manual.expires_at, manual.created_by) == (None, "operator:1")
    clock.advance(days=30)
    assert sweep_once(core)[2] == 0
    assert blocks(core) == [manual]
    assert replicated(core) == frozenset({KEY})


def test_blocking_an_automatically_blocked_caller_by_hand_makes_it_permanent(
    core: Core, guard: CallerSweepGuard, clock: Clock
) -> None:
    limit = core.settings.caller_sweep_numbers
    assert sweep(guard, KEY, limit, clock.now)[-1] is True
    [auto] = blocks(core)
    start = global_changes(core)
    with core.sessions.begin() as session:
        service = BlockService(session, core.clock, "operator:1")
        view = service.block_globally(caller_key=KEY, note="confirmed")
    assert global_changes(core) == start + 1
    assert (view.id, view.expires_at, view.created_by, view.note) == (
        auto.id,
        None,
        "operator:1",
        "confirmed",
    )
    clock.advance(days=2)
    assert sweep_once(core)[2] == 0
    assert replicated(core) == frozenset({KEY})


def test_expiry_removes_only_automatic_blocks_that_ended(core: Core, clock: Clock) -> None:
    start = clock.now
    assert auto_block(core, KEY, start + timedelta(hours=1))
    assert auto_block(core, OTHER, start + timedelta(hours=3))
    block_by_hand(core, MANUAL)
    assert not auto_block(core, KEY, start + timedelta(minutes=30))  # never shortened
    assert not auto_block(core, KEY, start - timedelta(minutes=1))  # already over
    assert [b.expires_at for b in blocks(core)] == [
        start + timedelta(hours=1),
        start + timedelta(hours=3),
        None,
    ]
    assert replicated(core) == frozenset({KEY, OTHER, MANUAL})

    clock.advance(hours=2)
    # Ended: no longer replicated, even before the sweep deletes it.
    assert replicated(core) == frozenset({OTHER, MANUAL})
    start = global_changes(core)
    with core.sessions.begin() as session:
        service = BlockService(session, core.clock, "sweep")
        assert service.expire_auto_blocks(clock.now) == 1
    assert global_changes(core) == start + 1
    assert [b.caller_key for b in blocks(core)] == [OTHER, MANUAL]
    assert sweep_once(core)[2] == 0
    clock.advance(hours=1)  # OTHER ends exactly now
    assert sweep_once(core)[2] == 1
    assert [b.caller_key for b in blocks(core)] == [MANUAL]
    assert actions(core).count("caller.block_expired") == 2


def test_an_ended_block_not_yet_swept_is_renewed(core: Core, clock: Clock) -> None:
    assert auto_block(core, KEY, clock.now + timedelta(hours=1))
    [first] = blocks(core)
    clock.advance(hours=2)
    assert replicated(core) == frozenset()
    assert auto_block(core, KEY, clock.now + timedelta(hours=1)) is True
    [renewed] = blocks(core)
    assert (renewed.id, renewed.created_at) == (first.id, clock.now)
    assert renewed.expires_at == clock.now + timedelta(hours=1)
    assert replicated(core) == frozenset({KEY})
    assert actions(core).count("caller.blocked_automatically") == 2


def test_the_scheduled_sweep_tells_the_bridges(core: Core, clock: Clock) -> None:
    assert auto_block(core, KEY, clock.now + timedelta(hours=1))
    clock.advance(hours=1)
    start = global_changes(core)

    async def run() -> None:
        told = asyncio.Event()
        loop = asyncio.get_running_loop()
        core.outbox_hints.append(lambda: loop.call_soon_threadsafe(told.set))
        task = asyncio.create_task(_sweep_forever(core))
        try:
            await asyncio.wait_for(told.wait(), 10)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(run())
    assert blocks(core) == []
    assert global_changes(core) == start + 1  # in the outbox with the expiry


def global_changes(core: Core) -> int:
    with core.reading() as svc:
        changes = Outbox(svc.repo.session).after(0, 10_000)
    return sum(c.kind is ChangeKind.GLOBAL_BLOCKS for c in changes)


def test_redis_down_blocks_nobody(core: Core, clock: Clock) -> None:
    dead = redis.Redis(port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    guard = make_guard(core, dead)
    limit = core.settings.caller_sweep_numbers
    assert sweep(guard, KEY, limit + 1, clock.now) == [False] * (limit + 1)
    assert blocks(core) == []


def test_operators_tell_automatic_blocks_from_their_own(api: Api) -> None:  # noqa: F811
    core = api.core
    until = core.clock() + timedelta(hours=24)
    assert auto_block(core, KEY, until)
    admin = api.operator("admin", "district_admin")
    r = api.client.post("/v1/ops/blocks", json={"caller_key": MANUAL}, headers=admin)
    assert r.status_code == 201, r.text
    assert (r.json()["created_by"], r.json()["expires_at"]) == ("operator:1", None)
    items = api.client.get("/v1/ops/blocks", headers=admin).json()["items"]
    assert [(b["caller_key"], b["created_by"]) for b in items] == [
        (KEY, "auto"),
        (MANUAL, "operator:1"),
    ]
    assert datetime.fromisoformat(items[0]["expires_at"]) == until
    assert items[1]["expires_at"] is None


def test_migration_down_drops_automatic_blocks_and_up_again(core: Core, clock: Clock) -> None:
    assert auto_block(core, KEY, clock.now + timedelta(hours=1))
    block_by_hand(core, MANUAL)
    downgrade(core.engine, "0004")
    columns = {c["name"] for c in inspect(core.engine).get_columns("global_blocks")}
    assert "expires_at" not in columns
    with core.engine.connect() as conn:
        keys = conn.execute(text("SELECT caller_key FROM global_blocks")).scalars().all()
    assert keys == [MANUAL]  # an automatic block must not become a permanent one

    upgrade(core.engine, "0005")
    columns = {c["name"] for c in inspect(core.engine).get_columns("global_blocks")}
    assert "expires_at" in columns
    upgrade(core.engine)
    [manual] = blocks(core)
    assert (manual.caller_key, manual.expires_at) == (MANUAL, None)
