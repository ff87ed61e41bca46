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

import numpy as np
import numpy.typing as npt

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


_HALF_MARGIN = 1e-6
"""How far from a half a scaled value must be for its rounding to be certain (the
float64 product is within about 1e-12 of the exact one)."""


def decimal_steps(
    values: npt.NDArray[np.float64], places: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """For values in [0, 1]: the integer ``k`` such that ``f"{v:.{places}f}"`` reads
    ``k / 10**places``, and whether that is certain, for a whole batch at once.

    The format rounds the exact binary value, half to even. ``v * 10**places`` in
    float64 lies within 1e-11 of the exact product, so wherever it is not within
    :data:`_HALF_MARGIN` of a half, its nearest integer is the format's. Values near a
    half, outside [0, 1], NaN or ``-0.0`` are left uncertain (``k`` 0): the caller
    formats those few itself. Scores and probabilities are then written from tables
    of their texts instead of a float-to-text conversion per text.
    """
    inside = (values >= 0.0) & (values <= 1.0) & ~np.signbit(values)
    scaled = np.where(inside, values, 0.0) * float(10**places)  # no NaN or inf from here
    sure = inside & (np.abs(scaled - np.floor(scaled) - 0.5) > _HALF_MARGIN)
    steps = np.where(sure, np.floor(scaled + 0.5), 0.0).astype(np.intp)
    return steps, sure


def decimal_texts(places: int) -> list[str]:
    """``f"{k / 10**places:.{places}f}"`` for every ``k`` from 0 to ``10**places``, from
    the integer (no float involved)."""
    scale = 10**places
    return [f"{k // scale}.{k % scale:0{places}d}" for k in range(scale + 1)]
