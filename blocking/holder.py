"""The filter a long-running process judges with, picking up a retrained model.

``safenum filter retrain`` replaces the model file atomically; a :class:`FilterHolder`
checks the file's identity (inode, size, modification time) at most once per
``check_seconds`` and loads the new model when it changed, so ``safenum serve`` uses
it without a restart. A file that cannot be loaded (half-copied by hand, trained for
other rules) is logged and the filter in use is kept.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from blocking.filter import Message, MessageFilter
from blocking.model import DEFAULT_PATH, ModelMismatch
from blocking.sender import SenderStats
from blocking.types import Verdict

log = logging.getLogger("safenum.filter")

_Identity = tuple[int, int, int] | None


def _identity(path: Path) -> _Identity:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def load_active(active: Path, shipped: Path = DEFAULT_PATH) -> MessageFilter:
    """The filter of the retrained model at ``active`` if there is one, else the shipped."""
    return MessageFilter.from_file(active if active.exists() else shipped)


class FilterHolder:
    """Judges with the current model of ``active`` (or ``shipped`` while there is none)."""

    def __init__(
        self,
        active: Path,
        shipped: Path = DEFAULT_PATH,
        check_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._active = active
        self._shipped = shipped
        self._check_seconds = check_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._seen = _identity(active)
        self._filter = load_active(active, shipped)
        self._checked = clock()

    @property
    def version(self) -> str:
        return self.current().version

    def current(self) -> MessageFilter:
        now = self._clock()
        if now - self._checked >= self._check_seconds:
            with self._lock:
                self._checked = now
                seen = _identity(self._active)
                if seen != self._seen:
                    self._reload(seen)
        return self._filter

    def _reload(self, seen: _Identity) -> None:
        self._seen = seen  # a bad file is reported once, not at every check
        try:
            fresh = load_active(self._active, self._shipped)
        except (OSError, ValueError, KeyError, ModelMismatch) as exc:
            log.error(
                "filter model %s not loaded (%s); keeping %s",
                self._active,
                exc,
                self._filter.version,
            )
            return
        if fresh.version != self._filter.version:
            log.info("filter model %s -> %s", self._filter.version, fresh.version)
        self._filter = fresh

    def judge(
        self, text: str, sender: str | None = None, stats: SenderStats | None = None
    ) -> Verdict:
        return self.current().judge(text, sender, stats)

    def judge_many(self, items: Sequence[Message | str]) -> list[Verdict]:
        return self.current().judge_many(items)
