"""The pure parts of allocation: range arithmetic and the exact fallback walk."""

from __future__ import annotations

import itertools
import random
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from numbering.allocation import Span, Spans, kth_free


def test_spans_index_maps_across_pools() -> None:
    spans = Spans([Span(1, "0504", 10, 19), Span(2, "0507", 0, 4)])
    assert spans.total == 15
    assert spans.at(0)[1].digits == "050400000010"
    assert spans.at(9)[1].digits == "050400000019"
    assert spans.at(10)[0].pool_id == 2
    assert spans.at(14)[1].digits == "050700000004"


def test_sample_is_distinct_and_covers_a_small_pool_whole() -> None:
    spans = Spans([Span(1, "0504", 0, 9)])
    batch = spans.sample(random.Random(1), k=32)
    assert sorted(n.subscriber for _, n in batch) == list(range(10))


def test_sample_of_a_huge_pool_is_not_sequential() -> None:
    spans = Spans([Span(1, "0504", 0, 99_999_999)])
    subs = [n.subscriber for _, n in spans.sample(random.Random(7), k=32)]
    gaps = [abs(a - b) for a, b in itertools.pairwise(subs)]
    assert min(gaps) > 1000  # a run of neighbours would be a guessable pattern


def test_sampling_is_roughly_uniform_over_pools() -> None:
    spans = Spans([Span(1, "0504", 0, 999), Span(2, "0505", 0, 2999)])
    rng = random.Random(3)
    hits = Counter(span.pool_id for _ in range(300) for span, _ in spans.sample(rng, k=10))
    assert 0.2 < hits[1] / (hits[1] + hits[2]) < 0.3  # 1000 of 4000 numbers


@given(
    st.integers(0, 50),
    st.integers(0, 60),
    st.sets(st.integers(0, 200), max_size=80),
    st.integers(0, 200),
)
def test_kth_free_matches_brute_force(start: int, length: int, used: set[int], k: int) -> None:
    span = Span(1, "0504", start, start + length)
    free = [s for s in range(span.start, span.end + 1) if s not in used]
    found = kth_free(span, sorted(used), k)
    if k < len(free):
        assert found is not None
        assert found.subscriber == free[k]
    else:
        assert found is None
