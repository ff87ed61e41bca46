"""Verdicts as JSON Lines text, built directly: the ``safenum filter`` hot path.

``json.dumps(verdict.to_json(), ensure_ascii=False)`` builds a dict and walks it for
every text, escaping the same few reason strings again each time. :func:`verdict_line`
writes the identical bytes from a :class:`blocking.filter.Outcome`, whose reasons
carry their JSON literal (:mod:`blocking.reasons`); a unit test holds the two
byte-identical.
"""

from __future__ import annotations

import json
from functools import cache
from operator import itemgetter

import numpy as np

from blocking.filter import Outcome
from blocking.reasons import decimal_steps, decimal_texts
from blocking.types import Category, Decision, Verdict

_HEADS = {
    (d, c): f'{{"verdict": "{d.value}", "category": "{c.value}", "score": '
    for d in Decision
    for c in Category
}


_JSON_OF = itemgetter(1)  # Reason.json
_SCORE = itemgetter(2)  # Outcome.score
_SCORE_TEXTS = [
    fixed + "0" if fixed[-1] == "." else fixed
    for fixed in (text.rstrip("0") for text in decimal_texts(4))
]
""":func:`_rounded` of ``k / 10_000`` for every ``k`` from 0 to 10,000."""


def verdict_line(outcome: Outcome, model: str = "") -> str:
    """One verdict object, byte-identical to :func:`dumps_verdict` of the same verdict
    judged by the model of version ``model``."""
    decision, category, score, reasons = outcome
    listed = ", ".join(map(_JSON_OF, reasons))
    tail = _tail(model)
    return f'{_HEADS[decision, category]}{_rounded(score)}, "reasons": [{listed}]{tail}'


def verdict_lines(outcomes: list[Outcome], model: str = "") -> list[str]:
    """:func:`verdict_line` of every outcome, in order: one loop, with the model's tail
    looked up once per batch instead of once per text, and the scores' texts from
    :func:`_score_texts`."""
    heads, tail, join, json_of = _HEADS, _tail(model), ", ".join, _JSON_OF
    return [
        f'{heads[d, c]}{score}, "reasons": [{join(map(json_of, reasons))}]{tail}'
        for (d, c, _score, reasons), score in zip(outcomes, _score_texts(outcomes), strict=True)
    ]


def _score_texts(outcomes: list[Outcome]) -> list[str]:
    """:func:`_rounded` of every outcome's score, looked up in :data:`_SCORE_TEXTS` for
    the batch at once (:func:`~blocking.reasons.decimal_steps`); the few scores whose
    rounding that leaves uncertain are formatted one by one."""
    scores = np.fromiter(map(_SCORE, outcomes), dtype=np.float64, count=len(outcomes))
    steps, sure = decimal_steps(scores, 4)
    texts = list(map(_SCORE_TEXTS.__getitem__, steps.tolist()))
    for i in np.flatnonzero(~sure).tolist():
        texts[i] = _rounded(outcomes[i].score)
    return texts


@cache
def _tail(model: str) -> str:
    return f', "model": {json.dumps(model, ensure_ascii=False)}}}'


def _rounded(score: float) -> str:
    """``repr(round(score, 4))`` in one float-to-text conversion instead of two.

    Both ``round`` and the ``.4f`` format round the exact binary value half to even
    (they share CPython's correctly rounded dtoa), and the shortest text of a number
    with at most four decimals in [0, 1] is those decimals without trailing zeros.
    """
    if 0.0 <= score <= 1.0:
        fixed = f"{score:.4f}".rstrip("0")
        return fixed + "0" if fixed[-1] == "." else fixed
    return repr(round(score, 4))


def dumps_verdict(verdict: Verdict) -> str:
    """The reference rendering: what :func:`verdict_line` must reproduce byte for byte."""
    return json.dumps(verdict.to_json(), ensure_ascii=False)
