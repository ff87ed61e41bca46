"""Exact and near-duplicate removal before any split, so no campaign is on both sides.

One spam campaign is reported thousands of times with a different link code, phone
number or greeting. Texts are compared on their *skeleton* (the normalised compact
form without digits), first exactly, then by MinHash over character 4-grams: a text
whose signature shares a band with an earlier text is a near duplicate of it (two
texts sharing about 60 % of their 4-grams usually collide). Texts are visited in the
order given, so callers sort by time and the earliest report of a campaign is kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from blocking.features import ngram_batch
from blocking.normalize import SEP, compact_codes, normalize_batch

HASHES = 20
ROWS_PER_BAND = 4
_MIN_SHINGLES = 6


def _skeletons(texts: Sequence[str]) -> tuple[list[str], npt.NDArray[np.uint32]]:
    normalised = normalize_batch([t[:400] for t in texts])
    codes = compact_codes(SEP.join(normalised))
    digit = (codes >= 48) & (codes <= 57)
    codes = codes[~digit]
    skeletons = codes.tobytes().decode("utf-32-le").split(SEP)
    return skeletons, codes


def signatures(texts: Sequence[str]) -> npt.NDArray[np.uint64]:
    """MinHash signature (``HASHES`` values) of each text's skeleton 4-grams."""
    skeletons, codes = _skeletons(texts)
    batch = ngram_batch(np.append(codes, np.uint32(0)), len(texts), 32)
    shingles = batch.buckets[3].astype(np.uint64)
    valid = batch.buckets[3] != batch.null_bucket
    rng = np.random.default_rng(7)
    mult = rng.integers(1, 2**63, size=HASHES, dtype=np.uint64) | np.uint64(1)
    add = rng.integers(0, 2**63, size=HASHES, dtype=np.uint64)
    out = np.empty((len(texts), HASHES), dtype=np.uint64)
    biggest = np.uint64(2**64 - 1)
    starts = batch.starts
    with np.errstate(over="ignore"):
        for k in range(HASHES):
            mixed = shingles * mult[k] + add[k]
            mixed[~valid] = biggest
            out[:, k] = np.minimum.reduceat(mixed, starts)
    short = np.fromiter((len(s) < _MIN_SHINGLES for s in skeletons), dtype=np.bool_)
    out[short] = biggest
    return out


def keep_first(texts: Sequence[str]) -> list[int]:
    """Indices of the texts to keep: the first of every exact or near-duplicate group."""
    return [i for i, first in enumerate(campaigns(texts)) if first == i]


def campaigns(texts: Sequence[str]) -> list[int]:
    """For each text, the index of the earliest text of its campaign (itself when it is
    kept): the first exact or near duplicate it matches, in the order given."""
    skeletons, _codes = _skeletons(texts)
    sigs = signatures(texts)
    seen_exact: dict[str, int] = {}
    seen_bands: dict[tuple[int, bytes], int] = {}
    out = []
    bands = HASHES // ROWS_PER_BAND
    for i, skeleton in enumerate(skeletons):
        if skeleton in seen_exact:
            out.append(seen_exact[skeleton])
            continue
        first = i
        if len(skeleton) >= _MIN_SHINGLES:
            keys = [
                (b, sigs[i, b * ROWS_PER_BAND : (b + 1) * ROWS_PER_BAND].tobytes())
                for b in range(bands)
            ]
            first = next((seen_bands[key] for key in keys if key in seen_bands), i)
            for key in keys:
                seen_bands.setdefault(key, first)
        seen_exact[skeleton] = first
        out.append(first)
    return out
