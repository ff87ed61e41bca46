"""AstDB replica of call blocks, kept like the routes (see ``proxy.replica``).

Families (values are ``1``; presence is what the dialplan checks):

- ``safenum/block/<number>/<caller ref>``: the driver of ``<number>`` blocked that caller
- ``safenum/block/all/<caller key>``: the operators blocked that caller on every number

The dialplan refuses a blocked caller before it rings anyone, from AstDB alone, so
blocks hold while the bridge is down. ``apply``/``apply_global`` push one change
(the bridge's outbox applier); ``reconcile`` (every AMI (re)connect, and
periodically) rewrites the whole family from the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection

from blocking.blocks import Blocks
from numbering.types import SafeNumber
from proxy.dialplan import BLOCK_FAMILY, BLOCKED
from proxy.dialplan import CALLER_REFERENCE as _REFERENCE
from proxy.dialplan import GLOBAL_BLOCK_KEY as GLOBAL_KEY
from proxy.dialplan import SAFE_NUMBER as _NUMBER
from proxy.replica import AstDb

log = logging.getLogger(__name__)

__all__ = ["GLOBAL_KEY", "BlockReplica", "Blocks"]


def paths(blocks: Blocks) -> set[str]:
    """What ``safenum/block`` should hold: ``<number>/<ref>`` and ``all/<key>``, valid
    shapes only."""
    wanted = {f"{GLOBAL_KEY}/{key}" for key in blocks.keys if _REFERENCE.match(key)}
    for number, refs in blocks.numbers.items():
        if _NUMBER.match(number):
            wanted.update(f"{number}/{ref}" for ref in refs if _REFERENCE.match(ref))
    return wanted


LoadBlocks = Callable[[], Awaitable[Blocks]]


class BlockReplica:
    def __init__(self, ami: AstDb, load: LoadBlocks) -> None:
        self._ami = ami
        self._load = load
        self._lock = asyncio.Lock()

    async def apply(self, number: SafeNumber, refs: Collection[str]) -> None:
        """Make ``safenum/block/<number>`` hold exactly ``refs`` (empty: no blocks)."""
        async with self._lock:
            await self._replace(f"{BLOCK_FAMILY}/{number.digits}", refs)

    async def apply_global(self, keys: Collection[str]) -> None:
        """Make ``safenum/block/all`` hold exactly ``keys``."""
        async with self._lock:
            await self._replace(f"{BLOCK_FAMILY}/{GLOBAL_KEY}", keys)

    async def reconcile(self) -> tuple[int, int]:
        """Make the whole family equal to the database; returns (written, removed)."""
        async with self._lock:
            wanted = paths(await self._load())
            present = {e.key for e in await self._ami.db_get_tree(BLOCK_FAMILY)}
            written = removed = 0
            for path in sorted(wanted - present):
                head, _, tail = path.partition("/")
                await self._ami.db_put(f"{BLOCK_FAMILY}/{head}", tail, BLOCKED)
                written += 1
            for path in sorted(present - wanted):
                head, _, tail = path.partition("/")
                try:
                    await self._ami.db_del(f"{BLOCK_FAMILY}/{head}", tail)
                except ValueError:
                    log.error("cannot remove unexpected AstDB key %s/%s", BLOCK_FAMILY, path)
                    continue
                removed += 1
        if written or removed:
            log.info("block replica reconciled: +%d -%d", written, removed)
        return written, removed

    async def _replace(self, family: str, values: Collection[str]) -> None:
        wanted = {v for v in values if _REFERENCE.match(v)}
        present = {e.key for e in await self._ami.db_get_tree(family)}
        for key in sorted(wanted - present):
            await self._ami.db_put(family, key, BLOCKED)
        for key in sorted(present - wanted):
            try:
                await self._ami.db_del(family, key)
            except ValueError:
                log.error("cannot remove unexpected AstDB key %s/%s", family, key)
