"""blocking.features: the hashed n-grams the model reads."""

import random

import numpy as np

from blocking.features import _MIX, _PRIME, MAX_N, joined_codes, ngram_batch


def _bucket(codes: list[int], bits: int) -> int:
    """The reference hash of one n-gram: xor, multiply by the prime, per code point
    modulo 2**64, then the order's mix and the top ``bits`` bits."""
    rolling = 0
    for code in codes:
        rolling = ((rolling ^ code) * int(_PRIME)) % 2**64
    return ((rolling * int(_MIX[len(codes) - 1])) % 2**64) >> (64 - bits)


def test_ngram_buckets_are_the_reference_hash_of_each_ngram():
    """Every bucket of random batches (beyond the BMP, empty texts, every order) against
    the hash computed in Python integers; n-grams across a boundary are null."""
    rng = random.Random(6)
    alphabet = [ord(c) for c in "a가1😀ㅋz"] + [0x10FFFF, 0xFFFF]
    checked = 0
    for _ in range(200):
        texts = [
            "".join(chr(rng.choice(alphabet)) for _ in range(rng.randint(0, 9)))
            for _ in range(rng.randint(1, 5))
        ]
        bits = rng.choice([10, 18])
        batch = ngram_batch(joined_codes(texts), len(texts), bits)
        flat = [ord(c) for c in "\x00".join(texts)]
        for n in range(1, MAX_N + 1):
            row = batch.buckets[n - 1].tolist()
            for at in range(len(flat)):
                gram = flat[at : at + n]
                expected = (1 << bits) if len(gram) < n or 0 in gram else _bucket(gram, bits)
                assert row[at] == expected, (texts, n, at)
                checked += 1
    assert checked > 10_000
    assert batch.buckets.dtype == np.int64
