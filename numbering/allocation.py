"""Random allocation from pools that are never materialised.

A pool of 10^8 numbers exists only as a range; the ``numbers`` table holds the numbers
that are not free. Allocation draws a batch of distinct random candidates from the
union of the ranges (a CSPRNG: a posted number must not help anyone guess the active
ones), asks the database which of them are taken in one query, and claims the first
free one. At 90 % fill a batch of 32 misses entirely with probability 0.9^32 = 3 %, so
the expected cost is one look-up and one insert whatever the fill or the number of
active rows (the look-up is a primary-key probe). Only when the pool is nearly full do
we fall back to an exact walk, which also proves exhaustion.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

from numbering.types import SafeNumber

BATCH = 32
ROUNDS = 8


@dataclass(frozen=True, slots=True)
class Span:
    pool_id: int
    prefix: str
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def number(self, offset: int) -> SafeNumber:
        return SafeNumber.from_parts(self.prefix, self.start + offset)


class Spans:
    """The union of several pool ranges, indexable as one sequence of numbers."""

    def __init__(self, spans: Sequence[Span]) -> None:
        self.spans = tuple(spans)
        self._ends = list(accumulate(s.size for s in self.spans))

    @property
    def total(self) -> int:
        return self._ends[-1] if self._ends else 0

    def at(self, index: int) -> tuple[Span, SafeNumber]:
        i = bisect.bisect_right(self._ends, index)
        base = self._ends[i - 1] if i else 0
        span = self.spans[i]
        return span, span.number(index - base)

    def sample(self, rng: random.Random, k: int = BATCH) -> list[tuple[Span, SafeNumber]]:
        """Up to ``k`` distinct random numbers; the whole pool when it is smaller than k."""
        indices = rng.sample(range(self.total), min(k, self.total))
        return [self.at(i) for i in indices]


def kth_free(span: Span, used_sorted: Iterable[int], k: int) -> SafeNumber | None:
    """The k-th (0-based) free number of ``span``, given its used subscriber numbers sorted."""
    expected = span.start
    for used in used_sorted:
        if used > span.end:
            break
        if used < expected:
            continue
        gap = used - expected
        if k < gap:
            break
        k -= gap
        expected = used + 1
    candidate = expected + k
    return span.number(candidate - span.start) if candidate <= span.end else None


def shuffled(items: Sequence[Span], rng: random.Random) -> Iterator[Span]:
    order = list(items)
    rng.shuffle(order)
    return iter(order)
