"""Retrain from review: a candidate model, kept only if no worse on the fixed split.

``safenum filter retrain`` calls :func:`retrain` with the examples operators made by
reviewing texts (:mod:`blocking.review_examples`). The candidate continues from the
model in use (so what it learnt from the real corpus stays) on the training corpus
plus the reviewed examples, which weigh as much as a whole source (see
:func:`blocking.train.sample_weights`). Its threshold is then raised, if needed, until
it blocks no more held-out ham than the model in use. It replaces that model only
when, on the held-out split of :func:`blocking.corpus.build` (the same texts every
time), it blocks at least as many unwanted texts and no more ham; the file is
replaced atomically and running filters pick it up (:class:`blocking.holder.FilterHolder`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from blocking.corpus import Example, build
from blocking.filter import MessageFilter, shared_rules
from blocking.model import DEFAULT_PATH, LinearModel
from blocking.rules import RULE_NAMES
from blocking.types import Category

RETRAIN_EPOCHS = 40
RETRAIN_LEARNING_RATE = 0.01


@dataclass(frozen=True, slots=True)
class SplitScore:
    """Block decisions on the evaluation split."""

    unwanted_blocked: int
    unwanted: int
    ham_blocked: int
    ham: int

    def no_worse_than(self, other: SplitScore) -> bool:
        return (
            self.unwanted_blocked >= other.unwanted_blocked
            and self.ham_blocked <= other.ham_blocked
        )

    def to_json(self) -> dict[str, object]:
        return {
            "unwanted_blocked": self.unwanted_blocked,
            "unwanted": self.unwanted,
            "ham_blocked": self.ham_blocked,
            "ham": self.ham,
        }


@dataclass(frozen=True, slots=True)
class RetrainResult:
    replaced: bool
    current: str
    candidate: str
    reviewed: int
    current_score: SplitScore
    candidate_score: SplitScore

    def to_json(self) -> dict[str, object]:
        return {
            "replaced": self.replaced,
            "model": self.candidate if self.replaced else self.current,
            "current": self.current,
            "candidate": self.candidate,
            "reviewed_examples": self.reviewed,
            "current_score": self.current_score.to_json(),
            "candidate_score": self.candidate_score.to_json(),
        }


def split_score(message_filter: MessageFilter, examples: Sequence[Example]) -> SplitScore:
    verdicts = message_filter.judge_many([e.text for e in examples])
    ham = [v.blocked for e, v in zip(examples, verdicts, strict=True) if e.label is Category.HAM]
    bad = [
        v.blocked for e, v in zip(examples, verdicts, strict=True) if e.label is not Category.HAM
    ]
    return SplitScore(sum(bad), len(bad), sum(ham), len(ham))


def retrain(
    reviewed: Sequence[Example],
    active: Path,
    now: datetime,
    corpus: tuple[list[Example], list[Example]] | None = None,
    shipped: Path = DEFAULT_PATH,
) -> RetrainResult:
    """Build a candidate from ``corpus`` (default: :func:`build`) and ``reviewed``; write
    it to ``active`` only if it is no worse than the model in use on the held-out split."""
    from blocking.train import fit

    train, held_out = corpus if corpus is not None else build()
    rules = shared_rules()
    base = LinearModel.load(active if active.exists() else shipped, RULE_NAMES)
    current = MessageFilter(rules, base)
    current_score = split_score(current, held_out)
    tuned = fit(
        list(train) + list(reviewed),
        rules,
        base.threshold,
        start=base,
        epochs=RETRAIN_EPOCHS,
        learning_rate=RETRAIN_LEARNING_RATE,
    )
    candidate = _no_more_ham_blocked(tuned, held_out, current_score)
    candidate_score = split_score(MessageFilter(rules, candidate), held_out)
    replaced = bool(reviewed) and candidate_score.no_worse_than(current_score)
    version = "unsaved"
    if replaced:
        version = candidate.save(active, label=f"retrained{now:%Y%m%d%H%M}")
    return RetrainResult(
        replaced, base.version, version, len(reviewed), current_score, candidate_score
    )


def _no_more_ham_blocked(
    model: LinearModel, held_out: Sequence[Example], current: SplitScore
) -> LinearModel:
    """``model`` with the lowest threshold (from its own up) that blocks no more held-out
    ham than the model in use does."""
    rules = shared_rules()
    ham = [e for e in held_out if e.label is Category.HAM]
    candidate = model
    for threshold in np.arange(model.threshold, 0.995, 0.01):
        candidate = LinearModel(
            model.hash_weights,
            model.rule_weights,
            model.bias,
            RULE_NAMES,
            model.bits,
            float(round(threshold, 2)),
        )
        if split_score(MessageFilter(rules, candidate), ham).ham_blocked <= current.ham_blocked:
            break
    return candidate
