"""Small AstDB reads with 10^6 routes present: old (a tree read) vs new (by key).

    .venv/bin/python bench/astdb_reads.py [--routes 1000000] [--repeat 7]

Asterisk 22 answers ``DBGetTree`` of any family with ``key || '/' LIKE ?`` (a scan
of the whole astdb table, ``main/db.c``), ``DBGet``/``DBPut``/``DBDel`` with
``WHERE key=?`` (the primary key). One private Asterisk 22 (shipped configs, free
ports) is loaded with ``--routes`` routes (``db_put_many``, not timed); then, in the
same run, alternating old and new, each ``--repeat`` times (median reported):

- db_get: one present route; old = ``DBGetTree`` of ``family/key`` (the previous
  ``AmiClient.db_get``), new = ``DBGet``;
- db_del of an absent key (the applier's ``forget_last_caller`` on a number whose
  last caller is gone): old = ``DBDel`` + tree read, new = ``DBDel`` + ``DBGet``;
- per-number block apply: one number's blocks go {R1, R2} -> {R2, R3} (one key
  written, one removed); old = the previous ``BlockReplica`` (``DBGetTree`` of
  ``safenum/block/<number>``), new = ``BlockReplica.apply`` (index ``DBGet`` + one
  ``DBGet`` per listed key); both on their own number;
- relay spool read, one text announced: old = ``DBGetTree`` of ``safenum/msg``,
  new = ``db_get_many`` of the announced id.

``uptime`` is printed at the start and the end (the 2-core machine is shared); the
ratio new/old is of the same run. Asterisk is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.calls import Ports, ami_settings, make_routes, start_asterisk
from blocking.blocks import Blocks
from numbering.types import SafeNumber
from proxy.ami import AmiClient
from proxy.block_replica import BlockReplica
from proxy.dialplan import BLOCK_FAMILY, BLOCKED, LAST_FAMILY, SPOOL_FAMILY
from proxy.replica import ROUTE_FAMILY

R1, R2, R3 = "a" * 20, "b" * 20, "c" * 20


def uptime() -> str:
    return Path("/proc/loadavg").read_text().strip()


async def old_db_get(ami: AmiClient, family: str, key: str) -> str | None:
    for entry in await ami.db_get_tree(family, key):
        if entry.key == key:
            return entry.value
    return None


async def old_db_del(ami: AmiClient, family: str, key: str) -> bool:
    try:
        await ami.action("DBDel", {"Family": family, "Key": key})
    except Exception:
        if await old_db_get(ami, family, key) is None:
            return False
        raise
    return True


async def old_block_apply(ami: AmiClient, number: str, refs: Collection[str]) -> None:
    """The previous ``BlockReplica._replace``: the number's family read as a tree."""
    family = f"{BLOCK_FAMILY}/{number}"
    wanted = set(refs)
    present = {e.key for e in await ami.db_get_tree(family)}
    for key in sorted(wanted - present):
        await ami.db_put(family, key, BLOCKED)
    for key in sorted(present - wanted):
        await ami.db_del(family, key)


async def timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def run(
    ami: AmiClient, routes: list[tuple[str, str]], repeat: int
) -> list[tuple[str, float, float]]:
    probe, value = routes[0]
    old_number, new_number = routes[1][0], routes[2][0]
    absent = "050499999999"

    async def no_blocks() -> Blocks:
        return Blocks()

    replica = BlockReplica(ami, no_blocks)
    await old_block_apply(ami, old_number, {R1, R2})
    await replica.apply(SafeNumber(new_number), {R1, R2})
    spool_id = "bench-text-1"
    await ami.db_put(SPOOL_FAMILY, spool_id, "v1|0504|0|x|y|1")

    async def check(got: object, want: object) -> None:
        if got != want:
            raise RuntimeError(f"read disagrees: {got!r} != {want!r}")

    cases: list[tuple[str, Callable[[int], Awaitable[None]], Callable[[int], Awaitable[None]]]] = [
        (
            "db_get: one present route",
            lambda i: _then(old_db_get(ami, ROUTE_FAMILY, probe), value, check),
            lambda i: _then(ami.db_get(ROUTE_FAMILY, probe), value, check),
        ),
        (
            "db_del: one absent key",
            lambda i: _then(old_db_del(ami, LAST_FAMILY, absent), False, check),
            lambda i: _then(ami.db_del(LAST_FAMILY, absent), False, check),
        ),
        (
            "per-number block apply: +1 -1 key",
            lambda i: old_block_apply(ami, old_number, {R2, R3} if i % 2 == 0 else {R1, R2}),
            lambda i: replica.apply(SafeNumber(new_number), {R2, R3} if i % 2 == 0 else {R1, R2}),
        ),
        (
            "relay spool read: one announced text",
            lambda i: _then(_tree_keys(ami), [spool_id], check),
            lambda i: _then(_many_keys(ami, spool_id), [spool_id], check),
        ),
    ]
    rows = []
    for name, old, new in cases:
        olds, news = [], []
        for i in range(repeat):
            olds.append(await timed(functools.partial(old, i)))
            news.append(await timed(functools.partial(new, i)))
        o, n = statistics.median(olds), statistics.median(news)
        print(f"  {name}: old {o * 1000:.1f} ms, new {n * 1000:.2f} ms", flush=True)
        rows.append((name, o, n))
    await ami.db_del(SPOOL_FAMILY, spool_id)
    return rows


async def _then(
    work: Awaitable[object], want: object, check: Callable[[object, object], Awaitable[None]]
) -> None:
    await check(await work, want)


async def _tree_keys(ami: AmiClient) -> list[str]:
    return [e.key for e in await ami.db_get_tree(SPOOL_FAMILY)]


async def _many_keys(ami: AmiClient, spool_id: str) -> list[str]:
    return list(await ami.db_get_many(SPOOL_FAMILY, [spool_id]))


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--routes", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    os.environ.setdefault("SAFENUM_LOG_LEVEL", "ERROR")
    print(f"routes={args.routes:,} cpus={os.cpu_count()} loadavg at start: {uptime()}", flush=True)
    base = Path(tempfile.mkdtemp(prefix="safenum-bench-astdb-"))
    routes = make_routes(args.routes)
    supervisor = start_asterisk(base, Ports.free())
    rows: list[tuple[str, float, float]] = []

    async def work() -> None:
        async with AmiClient(ami_settings(supervisor.config)) as ami:
            await ami.wait_connected(10)
            started = time.perf_counter()
            await ami.db_put_many(ROUTE_FAMILY, routes)
            print(f"  {len(routes):,} routes loaded in {time.perf_counter() - started:.0f} s")
            rows.extend(await run(ami, routes, args.repeat))

    try:
        asyncio.run(work())
    finally:
        supervisor.down()
    print(f"\nloadavg at end: {uptime()}\n")
    print(
        f"| read ({args.routes:,} routes in AstDB, median of {args.repeat}) "
        "| old (tree) ms | new (by key) ms | new / old |"
    )
    print("|---|---:|---:|---:|")
    for name, old, new in rows:
        print(f"| {name} | {old * 1000:.1f} | {new * 1000:.2f} | {new / old:.4f} |")


if __name__ == "__main__":
    main()
