"""AstDB replica of per-number preferences, and the other call-side AstDB families.

Families (all keyed by the 12 national digits of the safe number):

- ``safenum/quiet/<number>`` -> ``HHMM-HHMM`` quiet hours in Asia/Seoul (absent: none)
- ``safenum/text/<number>`` -> ``off`` when the driver turned the move-car text off
- ``safenum/last/<number>`` -> ``<caller national digits>:<epoch>``, written by the
  dialplan, read by the callback; the bridge deletes entries past the window
- ``safenum/cdr/<call tag>`` -> the hangup handler's call summary, consumed by the bridge
- ``safenum/block/<number>/<caller ref>`` and ``safenum/block/all/<caller key>`` ->
  present: calls from that caller are refused (kept by ``proxy.block_replica``)
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from proxy.replica import AstDb

log = logging.getLogger(__name__)

QUIET_FAMILY = "safenum/quiet"
TEXT_FAMILY = "safenum/text"
LAST_FAMILY = "safenum/last"
CDR_FAMILY = "safenum/cdr"
BLOCK_FAMILY = "safenum/block"

_NUMBER = re.compile(r"^050[0-9]{9}$")
_QUIET = re.compile(r"^([01][0-9]|2[0-3])[0-5][0-9]-([01][0-9]|2[0-3])[0-5][0-9]$")


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
    text = {n: "off" for n, p in prefs.items() if not p.move_text and _NUMBER.match(n)}
    return quiet, text


class PreferenceReplica:
    """Pushes preference changes to AstDB and repairs drift (like ``RouteReplica``)."""

    def __init__(self, ami: AstDb, load: LoadPrefs) -> None:
        self._ami = ami
        self._load = load
        self._lock = asyncio.Lock()

    async def apply(self, number: str, prefs: NumberPrefs | None) -> None:
        """Set one number's keys; ``None`` (no route) removes them."""
        if not _NUMBER.match(number):
            raise ValueError(f"not a 12-digit 050 number: {number!r}")
        prefs = prefs or NumberPrefs()
        async with self._lock:
            if prefs.quiet:
                await self._ami.db_put(QUIET_FAMILY, number, prefs.quiet)
            else:
                await self._ami.db_del(QUIET_FAMILY, number)
            if prefs.move_text:
                await self._ami.db_del(TEXT_FAMILY, number)
            else:
                await self._ami.db_put(TEXT_FAMILY, number, "off")

    async def reconcile(self) -> tuple[int, int]:
        """Make both families equal to the database; returns (written, removed)."""
        async with self._lock:
            quiet, text = _wanted(await self._load())
            written = removed = 0
            for family, wanted in ((QUIET_FAMILY, quiet), (TEXT_FAMILY, text)):
                present = {e.key: e.value for e in await self._ami.db_get_tree(family)}
                for key, value in wanted.items():
                    if present.get(key) != value:
                        await self._ami.db_put(family, key, value)
                        written += 1
                for key in present.keys() - wanted.keys():
                    try:
                        await self._ami.db_del(family, key)
                    except ValueError:
                        log.error("cannot remove unexpected AstDB key %s/%s", family, key)
                        continue
                    removed += 1
        return written, removed


async def purge_last_callers(ami: AstDb, now: int, window: int) -> int:
    """Delete ``safenum/last`` entries older than ``window`` seconds (or malformed)."""
    removed = 0
    for entry in await ami.db_get_tree(LAST_FAMILY):
        _, _, at = entry.value.partition(":")
        if not at.isdigit() or now - int(at) > window:
            try:
                await ami.db_del(LAST_FAMILY, entry.key)
            except ValueError:
                continue
            removed += 1
    return removed
