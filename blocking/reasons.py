"""A verdict reason, formatted and JSON-escaped once and then reused.

The same reasons recur across texts ("car context: 주차", "n-gram model: spam p=0.97"),
so each distinct text becomes one :class:`Reason` holding both its plain form (for
:class:`blocking.types.Verdict`) and its JSON string literal (for the ``safenum filter``
output), and the hot path only looks them up. Caches are emptied when full: fragments
such as URLs are unbounded, and a long-running process must not grow without limit.
"""

from __future__ import annotations

import json.encoder
from collections.abc import Callable
from typing import NamedTuple, cast

CACHE_SIZE = 50_000

_escape = cast(
    Callable[[str], str],
    json.encoder.c_encode_basestring or json.encoder.py_encode_basestring,  # type: ignore[attr-defined]
)


class Reason(NamedTuple):
    """One reason of a verdict: its text, that text as a JSON literal, and whether it
    is evidence for delivery (reported only on delivered texts)."""

    text: str
    json: str
    ham: bool


_REASONS: dict[tuple[str, bool], Reason] = {}


def reason(text: str, ham: bool = False) -> Reason:
    """The (cached) :class:`Reason` for ``text``; same as ``json.dumps`` escapes it."""
    key = (text, ham)
    found = _REASONS.get(key)
    if found is None:
        if len(_REASONS) >= CACHE_SIZE:
            _REASONS.clear()
        found = _REASONS[key] = Reason(text, _escape(text), ham)
    return found
