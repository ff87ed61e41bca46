"""Hashed character n-grams of a whole batch at once, with numpy.

The model reads the *compact* text (letters and digits only, see
:func:`blocking.normalize.compact`), so ``대 출``, ``대.출`` and ``대출`` share every
n-gram. Texts are joined with code point 0; each n-gram order is one rolling-hash pass
over the joined array, and n-grams that touch a separator fall into a dedicated
all-zero bucket, so per-text sums are a single ``np.add.reduceat``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MAX_N = 4
_PRIME = np.uint64(0x100000001B3)
_MIX = (
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xC2B2AE3D27D4EB4F),
    np.uint64(0x165667B19E3779F9),
    np.uint64(0xD6E8FEB86659FD93),
)
_LAST_MIX = np.uint64((int(_PRIME) * int(_MIX[-1])) % 2**64)
"""``_PRIME * _MIX[-1]`` modulo 2**64: the last order's two multiplications in one."""


@dataclass(frozen=True, slots=True)
class NgramBatch:
    """Bucket indices of every n-gram position, per order, and where each text starts.

    ``buckets[k, i]`` is the bucket of the (k+1)-gram starting at code position ``i``
    (``null_bucket`` when it crosses a text boundary); one 2-D array so that the model
    gathers all orders with a single ``np.take``. ``starts[t]`` is text ``t``'s first
    position; ``scale[t]`` is 1/sqrt(number of n-grams), the feature value.
    """

    buckets: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]
    scale: npt.NDArray[np.float32]
    null_bucket: int
    sizes: npt.NDArray[np.float32]
    """Each text's length in code points of the compact form (letters and digits)."""

    def owners(self) -> npt.NDArray[np.int64]:
        """The text each position belongs to (training only, so computed on demand)."""
        sizes = np.diff(np.append(self.starts, self.buckets.shape[1]))
        return np.repeat(np.arange(len(self.starts), dtype=np.int64), sizes)


def ngram_batch(codes: npt.NDArray[np.uint32], n_texts: int, bits: int) -> NgramBatch:
    """Hash the n-grams of ``n_texts`` texts given as code points joined by zeros.

    In-place uint64 arithmetic on preallocated rows (this runs on every text served);
    an n-gram crosses a boundary exactly when it starts within ``n - 1`` positions
    before a zero, so those few positions are found from the zeros, not by a scan.
    """
    codes = np.concatenate([codes, np.zeros(MAX_N, dtype=np.uint32)])
    length = len(codes) - MAX_N + 1  # one trailing zero closes the last text
    null_bucket = 1 << bits
    shift = np.uint64(64 - bits)
    wide = codes.astype(np.uint64)
    zeros = np.flatnonzero(codes == 0)
    out = np.empty((MAX_N, length), dtype=np.uint64)
    # The first order starts from zero, and 0 ^ x is x; the last one's rolling value is
    # not needed after it, and products modulo 2**64 associate, so it is multiplied by
    # _PRIME * _MIX[-1] at once: the same hashes, three passes over the batch fewer.
    rolling = wide[:length] * _PRIME
    np.multiply(rolling, _MIX[0], out=out[0])
    for n in range(2, MAX_N + 1):
        np.bitwise_xor(rolling, wide[n - 1 : n - 1 + length], out=rolling)
        if n < MAX_N:
            np.multiply(rolling, _PRIME, out=rolling)
            np.multiply(rolling, _MIX[n - 1], out=out[n - 1])
        else:
            np.multiply(rolling, _LAST_MIX, out=out[n - 1])
    for n in range(1, MAX_N + 1):
        row = out[n - 1]
        np.right_shift(row, shift, out=row)
        crossing = (zeros[:, None] - np.arange(n)).ravel()
        row[crossing[(crossing >= 0) & (crossing < length)]] = null_bucket
    buckets = out.view(np.int64)
    sep_at = zeros[zeros < length]
    starts = np.concatenate([[0], sep_at[: n_texts - 1] + 1]).astype(np.int64)
    ends = sep_at[:n_texts]
    sizes = (ends - starts).astype(np.float32)
    count = sum(np.maximum(sizes - n + 1, 0) for n in range(1, MAX_N + 1))
    scale = (1.0 / np.sqrt(np.maximum(count, 1.0))).astype(np.float32)
    return NgramBatch(buckets, starts, scale, null_bucket, sizes)


def joined_codes(compact_texts: list[str]) -> npt.NDArray[np.uint32]:
    """Code points of texts joined by zeros, closed by a final zero."""
    joined = "\x00".join(compact_texts) + "\x00"
    return np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
