"""Verdicts as JSON Lines text, built directly: the ``safenum filter`` hot path.

``json.dumps(verdict.to_json(), ensure_ascii=False)`` builds a dict and walks it for
every text, escaping the same few reason strings again each time. :func:`verdict_line`
writes the identical bytes from a :class:`blocking.filter.Outcome`, whose reasons
carry their JSON literal (:mod:`blocking.reasons`); a unit test holds the two
byte-identical.
"""

from __future__ import annotations

import json

from blocking.filter import Outcome
from blocking.types import Category, Decision, Verdict

_HEADS = {
    (d, c): f'{{"verdict": "{d.value}", "category": "{c.value}", "score": '
    for d in Decision
    for c in Category
}


def verdict_line(outcome: Outcome) -> str:
    """One verdict object, byte-identical to :func:`dumps_verdict` of the same verdict."""
    decision, category, score, reasons = outcome
    listed = ", ".join([r.json for r in reasons])
    return f'{_HEADS[decision, category]}{round(score, 4)!r}, "reasons": [{listed}]}}'


def dumps_verdict(verdict: Verdict) -> str:
    """The reference rendering: what :func:`verdict_line` must reproduce byte for byte."""
    return json.dumps(verdict.to_json(), ensure_ascii=False)
