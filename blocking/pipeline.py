"""Text -> evidence for a batch: normalised texts, rule hits and hashed n-grams.

Shared by :class:`blocking.filter.MessageFilter` and ``python -m blocking.train`` so the
model is trained on exactly the features it is served with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from blocking.disguise import disguise_hits, raw_classes
from blocking.features import NgramBatch, ngram_batch
from blocking.mojibake import repair_batch
from blocking.normalize import (
    SEP,
    code_points,
    ends_in_blanks,
    normalize_joined_with_codes_if_at_hand,
)
from blocking.rules import RuleHits, RuleSet


@dataclass(frozen=True, slots=True)
class Evidence:
    normalised: list[str]
    rules: RuleHits
    ngrams: NgramBatch


def analyse(texts: list[str], rules: RuleSet, bits: int) -> Evidence:
    """Normalise once over the joined batch, then scan rules and hash n-grams."""
    joined = SEP.join(texts)
    # The raw batch's code points, encoded once for the three steps that read them.
    raw: npt.NDArray[np.uint32] | None = code_points(joined, "surrogatepass")
    repaired = repair_batch(texts, joined, raw)  # Korean read as Chinese (blocking.mojibake)
    if repaired is not texts:
        texts, joined, raw = repaired, SEP.join(repaired), None
    if joined.count(SEP) != len(texts) - 1:  # a text holds SEP itself: drop it there
        joined, raw = SEP.join(t.replace(SEP, "") for t in texts), None
    if raw is None:
        raw = code_points(joined, "surrogatepass")
    classes = raw_classes(raw)  # one look-up for the disguise and NFKC steps
    seed = disguise_hits(joined, len(texts), raw, classes)
    joined, found = normalize_joined_with_codes_if_at_hand(joined, raw, classes)
    if found is not None and not ends_in_blanks(found):
        # Nothing to strip, and the code points are the ones at hand.
        normalised, codes = joined.split(SEP), found
    else:
        # Some text begins or ends with a blank, or the last step rewrote the batch
        # and left no code points (spaced Latin letters joined: in every batch of the
        # bench): strip (a no-op for texts with no blank at either end) and encode
        # once, not once before the strip and once after it.
        normalised = [t.strip() for t in joined.split(SEP)]
        joined = SEP.join(normalised)
        codes = code_points(joined)
    # compact() drops whitespace, so the stripped texts give the same n-grams as the
    # unstripped ones; one compact form serves the Hangul rules and the model.
    # (from the rules' one look-up of the batch, which holds compact()'s table too.)
    classes = rules.classes(codes)
    squeezed = rules.compact_of(codes, classes)
    ngrams = ngram_batch(np.append(squeezed, np.uint32(0)), len(texts), bits)
    hits = rules.scan_joined(normalised, joined, codes, squeezed, ngrams, seed, classes)
    return Evidence(normalised, hits, ngrams)
