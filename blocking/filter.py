"""The spam and advertising filter: rules and a linear model decide deliver or block.

Policy choices, in order of precedence:

1. A sender who texted many safe numbers in a short window, is over its rate limit, or
   is still serving a block from such a burst (see :mod:`blocking.sender_redis`) is
   blocked as ``spam``.
2. The model (hashed n-grams plus rule flags) gives P(category); the text is blocked
   when P(not ham) reaches the model's tuned threshold, which favours delivery.
3. Rule floor: an ad marker, vice vocabulary (Korean or English) next to a way to
   make contact, a lure next to a link, or a family-in-trouble request (two such words,
   or one after an opener like "엄마 나") is blocked whatever the model says.
4. Car-context guard: a text about a car (주차, 빼주세요, "move your car") that has
   none of the hard spam signals below is always delivered. Losing a neighbour's
   "please move your car" is far worse than delivering one ad the driver can report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import NamedTuple

import numpy as np

from blocking.model import DEFAULT_PATH, LinearModel
from blocking.pipeline import analyse
from blocking.reasons import Reason, reason
from blocking.rules import RULE_NAMES, RuleSet
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
    "en_vice",
    "family",
    "messenger",
)
"""Rules whose presence disables the car-context guard."""

_VICE_RULES = ("gambling", "loan", "adult", "stock", "crypto", "en_vice")
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


GUARD_REASON = reason("car-context guard: delivered despite spam-like wording")
_AD, _SPAM, _SMISHING, _SCAM = (
    CATEGORIES.index(c) for c in (Category.AD, Category.SPAM, Category.SMISHING, Category.SCAM)
)


class Outcome(NamedTuple):
    """One decision with its reasons, shared by :class:`Verdict` and the JSON renderer
    (a named tuple: one is built per text on the hot path, and tuples build fastest)."""

    decision: Decision
    category: Category
    score: float
    reasons: list[Reason]


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
        self._family_opener = col["family_opener"]

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
        return [self._verdict(outcome) for outcome in self.outcomes(messages)]

    def outcomes(self, messages: Sequence[Message]) -> list[Outcome]:
        """What :meth:`judge_many` decides, before it is packed into :class:`Verdict` values.

        :mod:`blocking.jsonlines` renders these straight to JSON for the CLI's hot path;
        both renderings come from this one decision, so they cannot disagree.
        """
        return self._decide([m.text for m in messages], [m.stats for m in messages])

    def outcomes_of_texts(self, texts: list[str]) -> list[Outcome]:
        """:meth:`outcomes` of texts whose senders' behaviour is unknown (``safenum filter``)."""
        return self._decide(texts, repeat(None, len(texts)))

    def _decide(self, texts: list[str], stats: Iterable[SenderStats | None]) -> list[Outcome]:
        """The outcomes of ``texts``, given each sender's behaviour (``None``: unknown)."""
        if not texts:
            return []
        evidence = analyse(texts, self._rules, self._model.bits)
        rules = evidence.rules
        flags = rules.flags
        probs = self._model.probabilities(evidence.ngrams, flags)
        scores = 1.0 - probs[:, 0]
        hard = flags[:, self._hard].any(axis=1)
        lured_link = flags[:, self._links].any(axis=1) & flags[:, self._lures].any(axis=1)
        guarded = np.asarray(flags[:, self._car].any(axis=1) & ~hard & ~lured_link, dtype=np.bool_)
        guard_cap = self._model.threshold * 0.9
        capped = np.where(guarded, np.minimum(scores, guard_cap), scores).astype(np.float64)
        kinds = probs[:, 1:].argmax(axis=1) + 1
        # Rule floor: combinations that are unwanted whatever the model says (the class
        # index of the category, 0 for none; a later line overrides an earlier one).
        vice = flags[:, self._vice].any(axis=1) & flags[:, self._contact].any(axis=1)
        floor = np.zeros(len(texts), dtype=kinds.dtype)
        floor[flags[:, self._ad_marker] > 0] = _AD
        floor[vice & ~guarded] = _SPAM
        floor[lured_link] = _SMISHING
        # Scam floor: two family-in-trouble words, or one after an opener ("엄마 나 …");
        # an opener alone ("엄마나 아빠나 오시면 …") is everyday speech.
        for i in np.flatnonzero(flags[:, self._family] > 0).tolist():
            words = {f for r, f in rules.hits[i] if r == "family"}
            if len(words) + int(flags[i, self._family_opener] > 0) >= 2:
                floor[i] = _SCAM
        threshold = self._model.threshold
        lifted = (floor > 0) & (capped < threshold)
        capped[lifted] = threshold
        kinds[lifted] = floor[lifted]
        guard_applied = (guarded & (scores > guard_cap)).tolist()
        kind_p = probs[np.arange(len(texts)), kinds].astype(np.float64).tolist()
        out = []
        block, deliver, spam, ham = Decision.BLOCK, Decision.DELIVER, Category.SPAM, Category.HAM
        model_says = [f"n-gram model: {c.value} p=" for c in CATEGORIES]
        for score, kind, kind_prob, guard, sender, hits in zip(
            capped.tolist(),
            kinds.tolist(),
            kind_p,
            guard_applied,
            stats,
            rules.reasons(),
            strict=True,
        ):
            if sender is not None and self._burst.is_burst(sender):
                reasons = [reason(sender.describe()), *hits]
                out.append(Outcome(block, spam, max(score, 0.99), reasons))
            elif score >= threshold:
                reasons = [r for r in hits if not r.ham]
                reasons.append(reason(f"{model_says[kind]}{kind_prob:.2f}"))
                out.append(Outcome(block, CATEGORIES[kind], score, reasons))
            else:
                if guard:
                    hits.append(GUARD_REASON)
                out.append(Outcome(deliver, ham, score, hits))
        return out

    @staticmethod
    def _verdict(outcome: Outcome) -> Verdict:
        reasons = tuple(r.text for r in outcome.reasons)
        return Verdict(outcome.decision, outcome.category, outcome.score, reasons)
