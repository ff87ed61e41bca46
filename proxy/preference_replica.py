"""AstDB replica of per-number preferences (``safenum/quiet``, ``safenum/text``) and the
last-caller entries the callback reads (``safenum/last``); see :mod:`proxy.dialplan`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass

from numbering.types import SafeNumber
from proxy.ami import valid_key
from proxy.dialplan import (
    BLOCK_FAMILY,
    CDR_FAMILY,
    LAST_FAMILY,
    QUIET_FAMILY,
    TEXT_FAMILY,
    TEXT_OFF,
    last_caller_epoch,
)
from proxy.dialplan import QUIET_HOURS as _QUIET
from proxy.dialplan import SAFE_NUMBER as _NUMBER
from proxy.replica import AstDb

log = logging.getLogger(__name__)

__all__ = [
    "BLOCK_FAMILY",
    "CDR_FAMILY",
    "LAST_FAMILY",
    "QUIET_FAMILY",
    "TEXT_FAMILY",
    "NumberPrefs",
    "PreferenceReplica",
    "forget_last_caller",
    "purge_last_callers",
]


@dataclass(frozen=True)
class NumberPrefs:
    """What the dialplan needs of one number's preferences."""

    quiet: str | None = None  # HHMM-HHMM
    move_text: bool = True

    def __post_init__(self) -> None:
        if self.quiet is not None and not _QUIET.match(self.quiet):
            raise ValueError(f"quiet hours must be HHMM-HHMM: {self.quiet!r}")


LoadPrefs = Callable[[], Awaitable[Mapping[str, NumberPrefs]]]


def _wanted(prefs: Mapping[str, NumberPrefs]) -> tuple[dict[str, str], dict[str, str]]:
    quiet = {n: p.quiet for n, p in prefs.items() if p.quiet and _NUMBER.match(n)}
    text = {n: TEXT_OFF for n, p in prefs.items() if not p.move_text and _NUMBER.match(n)}
    return quiet, text


class PreferenceReplica:
    """Pushes preference changes to AstDB and repairs drift (like ``RouteReplica``)."""

    def __init__(self, ami: AstDb, load: LoadPrefs) -> None:
        self._ami = ami
        self._load = load
        self._lock = asyncio.Lock()

    async def apply(self, safe_number: SafeNumber, prefs: NumberPrefs | None) -> None:
        """Set one number's keys; ``None`` (no route) removes them."""
        number = safe_number.digits
        prefs = prefs or NumberPrefs()
        async with self._lock:
            if prefs.quiet:
                await self._ami.db_put(QUIET_FAMILY, number, prefs.quiet)
            else:
                await self._ami.db_del(QUIET_FAMILY, number)
            if prefs.move_text:
                await self._ami.db_del(TEXT_FAMILY, number)
            else:
                await self._ami.db_put(TEXT_FAMILY, number, TEXT_OFF)

    async def reconcile(self) -> tuple[int, int]:
        """Make both families equal to the database; returns (written, removed)."""
        async with self._lock:
            quiet, text = _wanted(await self._load())
            written = removed = 0
            for family, wanted in ((QUIET_FAMILY, quiet), (TEXT_FAMILY, text)):
                # One read and pipelined writes of the difference, like RouteReplica.
                present = await self._ami.db_tree(family)
                changed = [(k, v) for k, v in wanted.items() if present.get(k) != v]
                written += await self._ami.db_put_many(family, changed)
                stale = []
                for key in present.keys() - wanted.keys():
                    if not valid_key(key):
                        log.error("cannot remove unexpected AstDB key %s/%s", family, key)
                        continue
                    stale.append(key)
                await self._ami.db_del_many(family, stale)
                removed += len(stale)
        return written, removed


async def forget_last_caller(ami: AstDb, number: SafeNumber) -> None:
    """The number is no longer held: its last caller goes (the callback needs a holder)."""
    await ami.db_del(LAST_FAMILY, number.digits)


async def purge_last_callers(
    ami: AstDb, now: int, window: int, held: Collection[str] | None = None
) -> int:
    """Delete ``safenum/last`` entries older than ``window`` seconds, malformed ones,
    and (given ``held``, the 12 digits of every live number) those of numbers no
    one holds any more."""
    removed = 0
    for entry in await ami.db_get_tree(LAST_FAMILY):
        at = last_caller_epoch(entry.value)
        if at is None or now - at > window or (held is not None and entry.key not in held):
            try:
                await ami.db_del(LAST_FAMILY, entry.key)
            except ValueError:
                continue
            removed += 1
    return removed
