"""Text -> evidence for a batch: normalised texts, rule hits and hashed n-grams.

Shared by :class:`blocking.filter.MessageFilter` and ``python -m blocking.train`` so the
model is trained on exactly the features it is served with.
"""

from __future__ import annotations

from dataclasses import dataclass

from blocking.features import NgramBatch, ngram_batch
from blocking.normalize import SEP, compact_codes, normalize_joined
from blocking.rules import RuleHits, RuleSet


@dataclass(frozen=True, slots=True)
class Evidence:
    normalised: list[str]
    rules: RuleHits
    ngrams: NgramBatch


def analyse(texts: list[str], rules: RuleSet, bits: int) -> Evidence:
    """Normalise once over the joined batch, then scan rules and hash n-grams."""
    joined = normalize_joined(SEP.join(t.replace(SEP, "") for t in texts))
    normalised = [t.strip() for t in joined.split(SEP)]
    hits = rules.scan(normalised)
    codes = compact_codes(joined + SEP)
    return Evidence(normalised, hits, ngram_batch(codes, len(texts), bits))
