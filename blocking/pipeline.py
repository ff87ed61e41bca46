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
    normalize_joined_with_codes,
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
    joined, codes = normalize_joined_with_codes(joined, raw, classes)
    if ends_in_blanks(codes):
        normalised = [t.strip() for t in joined.split(SEP)]
        joined = SEP.join(normalised)
        codes = code_points(joined)
    else:  # the usual batch: nothing to strip, and the codes are the ones at hand
        normalised = joined.split(SEP)
    # compact() drops whitespace, so the stripped texts give the same n-grams as the
    # unstripped ones; one compact form serves the Hangul rules and the model.
    # (from the rules' one look-up of the batch, which holds compact()'s table too.)
    classes = rules.classes(codes)
    squeezed = rules.compact_of(codes, classes)
    ngrams = ngram_batch(np.append(squeezed, np.uint32(0)), len(texts), bits)
    hits = rules.scan_joined(normalised, joined, codes, squeezed, ngrams, seed, classes)
    return Evidence(normalised, hits, ngrams)
