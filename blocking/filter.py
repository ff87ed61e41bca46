"""The spam and advertising filter: rules and a linear model decide deliver or block.

Policy choices, in order of precedence:

1. A sender who texted many safe numbers in a short window is blocked as ``spam``.
2. The model (hashed n-grams plus rule flags) gives P(category); the text is blocked
   when P(not ham) reaches the model's tuned threshold, which favours delivery.
3. Car-context guard: a text about a car (주차, 빼주세요, "move your car") that has
   none of the hard spam signals below is always delivered. Losing a neighbour's
   "please move your car" is far worse than delivering one ad the driver can report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from blocking.model import DEFAULT_PATH, LinearModel
from blocking.pipeline import analyse
from blocking.rules import RULE_NAMES, RuleHits, RuleSet
from blocking.sender import BurstPolicy, SenderStats
from blocking.types import CATEGORIES, Category, Decision, Verdict

HARD_SIGNALS = (
    "ad_marker",
    "opt_out_080",
    "url_shortener",
    "url_ip",
    "url_apk",
    "url_risky_tld",
    "url_messenger",
    "messenger_id",
    "foreign_sender",
    "phone_premium",
    "short_code",
    "gambling",
    "loan",
    "adult",
    "stock",
    "crypto",
    "family",
    "messenger",
)
"""Rules whose presence disables the car-context guard."""

_VICE_RULES = ("gambling", "loan", "adult", "stock", "crypto")
_CONTACT_RULES = (
    "url_other",
    "url_shortener",
    "url_ip",
    "url_apk",
    "url_risky_tld",
    "url_messenger",
    "messenger_id",
    "messenger",
    "phone_internet",
    "phone_premium",
    "phone_mobile",
    "phone_rep",
)
_LINK_RULES = ("url_other", "url_shortener", "url_ip", "url_apk", "url_risky_tld")
_LURE_RULES = ("authority", "courier", "account", "en_phish")


@dataclass(frozen=True, slots=True)
class Message:
    """One text to judge; ``stats`` is the sender's recent behaviour when known."""

    text: str
    sender: str | None = None
    stats: SenderStats | None = None


class MessageFilter:
    """Judges texts sent to a safe number. Thread-safe: it holds no mutable state."""

    def __init__(self, rules: RuleSet, model: LinearModel, burst: BurstPolicy | None = None):
        self._rules = rules
        self._model = model
        self._burst = burst or BurstPolicy()
        col = {n: i for i, n in enumerate(rules.names)}
        self._hard = np.array([col[n] for n in HARD_SIGNALS])
        self._links = np.array([col[n] for n in _LINK_RULES])
        self._lures = np.array([col[n] for n in _LURE_RULES])
        self._car = np.array([col["car"], col["en_car"]])
        self._vice = np.array([col[n] for n in _VICE_RULES])
        self._contact = np.array([col[n] for n in _CONTACT_RULES])
        self._ad_marker = col["ad_marker"]
        self._family = col["family"]

    @classmethod
    def default(cls) -> MessageFilter:
        """The rules in this package and the model trained by ``python -m blocking.train``."""
        return cls(RuleSet(), LinearModel.load(DEFAULT_PATH, RULE_NAMES))

    @property
    def threshold(self) -> float:
        return self._model.threshold

    def judge(
        self, text: str, sender: str | None = None, stats: SenderStats | None = None
    ) -> Verdict:
        return self.judge_many([Message(text, sender, stats)])[0]

    def judge_many(self, items: Sequence[Message | str]) -> list[Verdict]:
        """Verdicts in input order; one vectorised pass for the whole batch."""
        messages = [m if isinstance(m, Message) else Message(m) for m in items]
        if not messages:
            return []
        evidence = analyse([m.text for m in messages], self._rules, self._model.bits)
        flags = evidence.rules.flags
        probs = self._model.probabilities(evidence.ngrams, flags)
        scores = 1.0 - probs[:, 0]
        hard = flags[:, self._hard].any(axis=1)
        lured_link = flags[:, self._links].any(axis=1) & flags[:, self._lures].any(axis=1)
        guarded = np.asarray(flags[:, self._car].any(axis=1) & ~hard & ~lured_link, dtype=np.bool_)
        guard_cap = self._model.threshold * 0.9
        capped = np.where(guarded, np.minimum(scores, guard_cap), scores).astype(np.float64)
        kinds = probs[:, 1:].argmax(axis=1) + 1
        # Rule floor: combinations that are unwanted whatever the model says.
        vice = flags[:, self._vice].any(axis=1) & flags[:, self._contact].any(axis=1)
        floor = {i: Category.AD for i in np.flatnonzero(flags[:, self._ad_marker] > 0).tolist()}
        floor.update({i: Category.SPAM for i in np.flatnonzero(vice & ~guarded).tolist()})
        floor.update({i: Category.SMISHING for i in np.flatnonzero(lured_link).tolist()})
        for i in np.flatnonzero(flags[:, self._family] > 0).tolist():
            if len({f for r, f in evidence.rules.hits[i] if r == "family"}) >= 2:
                floor[i] = Category.SCAM
        for i, category in floor.items():
            if capped[i] < self._model.threshold:
                capped[i] = self._model.threshold
                kinds[i] = CATEGORIES.index(category)
        return [
            self._verdict(
                i,
                m,
                float(capped[i]),
                bool(guarded[i] and scores[i] > guard_cap),
                CATEGORIES[int(kinds[i])],
                float(probs[i, kinds[i]]),
                evidence.rules,
            )
            for i, m in enumerate(messages)
        ]

    def _verdict(
        self,
        index: int,
        message: Message,
        score: float,
        guard_applied: bool,
        kind: Category,
        kind_p: float,
        rules: RuleHits,
    ) -> Verdict:
        hits = rules.for_text(index) if rules.hits[index] else []
        if message.stats is not None and self._burst.is_burst(message.stats):
            reasons = [message.stats.describe(), *(h.reason() for h in hits)]
            return Verdict(Decision.BLOCK, Category.SPAM, max(score, 0.99), tuple(reasons))
        if score >= self._model.threshold:
            ordered = sorted(hits, key=lambda h: h.category is Category.HAM)
            reasons = [h.reason() for h in ordered if h.category is not Category.HAM]
            reasons.append(f"n-gram model: {kind.value} p={kind_p:.2f}")
            return Verdict(Decision.BLOCK, kind, score, tuple(reasons))
        reasons = [h.reason() for h in hits]
        if guard_applied:
            reasons.append("car-context guard: delivered despite spam-like wording")
        return Verdict(Decision.DELIVER, Category.HAM, score, tuple(reasons))
