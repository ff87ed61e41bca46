"""AstDB replica of call blocks, kept like the routes (see ``proxy.replica``).

Families (values are ``1``; presence is what the dialplan checks):

- ``safenum/block/<number>/<caller ref>``: the driver of ``<number>`` blocked that caller
- ``safenum/block/all/<caller key>``: the operators blocked that caller on every number

The dialplan refuses a blocked caller before it rings anyone, from AstDB alone, so
blocks hold while the bridge is down. ``apply``/``apply_global`` push one change
(the bridge's outbox applier); ``reconcile`` (every AMI (re)connect, and
periodically) rewrites the whole family from the database.

Index: ``safenum/blockindex/<number>`` (and ``.../all``) lists, comma-separated, every
key that may exist under ``safenum/block/<number>``; the dialplan never reads it.
It exists because Asterisk answers ``DBGetTree`` of a small family by scanning
all of AstDB (about a second with 10^6 routes): ``apply`` reads the index with one
``DBGet`` and the listed keys with one ``DBGet`` each, all indexed lookups. Invariant,
at every step: each block key present is listed. ``apply`` widens the listing before
it writes a key and narrows it only after it deleted one, so a crash leaves a
listing too wide (harmless: unlisting happens at the next apply), never too narrow.
A listing longer than one AMI line allows (``INDEX_CHARS``) is stored as ``*``,
"read the tree" (the old, scanning way, for that number only). ``reconcile`` reads
both trees and rewrites the index with the blocks, so a lost or stale index is
repaired on every (re)connect (keys written before the index existed included: until
that first reconcile, an apply does not see them).
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

INDEX_FAMILY = "safenum/blockindex"
INDEX_CHARS = 900  # a header line of an AMI action must fit in Asterisk's 1024 bytes
_OVERFLOW = "*"


def _encode(keys: Collection[str]) -> str:
    value = ",".join(sorted(keys))
    return _OVERFLOW if len(value) > INDEX_CHARS else value


def _decode(value: str | None) -> set[str] | None:
    """The listed keys; None for "too many to list: read the tree"."""
    if value is None:
        return set()
    if value == _OVERFLOW:
        return None
    return {k for k in value.split(",") if _REFERENCE.match(k)}


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
            await self._replace(number.digits, refs)

    async def apply_global(self, keys: Collection[str]) -> None:
        """Make ``safenum/block/all`` hold exactly ``keys``."""
        async with self._lock:
            await self._replace(GLOBAL_KEY, keys)

    async def reconcile(self) -> tuple[int, int]:
        """Make the whole family (and its index) equal to the database; returns
        (written, removed) block keys."""
        async with self._lock:
            wanted = paths(await self._load())
            present = {e.key for e in await self._ami.db_get_tree(BLOCK_FAMILY)}
            index = await self._ami.db_tree(INDEX_FAMILY)
            want, have = _by_head(wanted), _by_head(present)
            for head in sorted(want):  # list every key before it is written
                missing = want[head] - have.get(head, set())
                listed = _decode(index.get(head))
                if missing and listed is not None and not missing <= listed:
                    widened = _encode(want[head] | have.get(head, set()) | listed)
                    await self._ami.db_put(INDEX_FAMILY, head, widened)
                    index[head] = widened
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
            for head in sorted(want):  # then list exactly what is there
                if index.get(head) != _encode(want[head]):
                    await self._ami.db_put(INDEX_FAMILY, head, _encode(want[head]))
            for head in sorted(index.keys() - want.keys()):
                try:
                    await self._ami.db_del(INDEX_FAMILY, head)
                except ValueError:
                    log.error("cannot remove unexpected AstDB key %s/%s", INDEX_FAMILY, head)
        if written or removed:
            log.info("block replica reconciled: +%d -%d", written, removed)
        return written, removed

    async def _replace(self, head: str, values: Collection[str]) -> None:
        """Make ``safenum/block/<head>`` hold exactly ``values``, with indexed reads only
        (unless the index says the listing overflowed)."""
        family = f"{BLOCK_FAMILY}/{head}"
        wanted = {v for v in values if _REFERENCE.match(v)}
        stored = await self._ami.db_get(INDEX_FAMILY, head)
        listed = _decode(stored)
        if listed is None:
            present = set(await self._ami.db_tree(family))
        else:
            present = set(await self._ami.db_get_many(family, listed))
        missing = wanted - present
        if missing and listed is not None and not missing <= listed:
            stored = _encode(present | wanted)
            await self._ami.db_put(INDEX_FAMILY, head, stored)
        if missing:
            await self._ami.db_put_many(family, ((k, BLOCKED) for k in sorted(missing)))
        stale = sorted(present - wanted)
        for key in stale:
            try:
                await self._ami.db_del(family, key)
            except ValueError:
                log.error("cannot remove unexpected AstDB key %s/%s", family, key)
        if not wanted:
            if stored is not None:
                await self._ami.db_del(INDEX_FAMILY, head)
        elif stored != _encode(wanted):
            await self._ami.db_put(INDEX_FAMILY, head, _encode(wanted))


def _by_head(paths: Collection[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in paths:
        head, _, tail = path.partition("/")
        out.setdefault(head, set()).add(tail)
    return out
