"""The spam and advertising filter: rules and a linear model decide deliver or block.

Policy choices, in order of precedence:

1. A sender who texted many safe numbers in a short window, is over its rate limit, or
   is still serving a block from such a burst (see :mod:`blocking.sender_redis`) is
   blocked as ``spam``.
2. The model (hashed n-grams plus rule flags) gives P(category); the text is blocked
   when P(not ham) reaches the model's tuned threshold, which favours delivery.
3. Rule floor: an ad marker, vice vocabulary (Korean or English) next to a way to
   make contact, a lure next to a link, or a family-in-trouble request (two such words,
   or one after an opener like "엄마 나") is blocked whatever the model says; so are
   the campaigns of real Korean traffic: messenger-account impersonation, a
   government notice with a link or a call to act, a site address in disguise and a
   text sent from abroad that is not about a car.
4. Car-context guard: a text about a car (주차, 빼주세요, "move your car", a map link)
   of under 100 letters that has none of the hard spam signals below is always
   delivered. Losing a neighbour's "please move your car" is far worse than delivering
   one ad the driver can report. Card and bank payment notices, and notices whose only
   links are their sender's own site (a courier, a bank, ``go.kr``), are guarded alike.
5. A short text with no way to act on it (no link, number, ID, account, amount or ad
   mark) is blocked by the model alone only when it is sure (:data:`QUIET_BAR`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from blocking.model import DEFAULT_PATH, LinearModel
from blocking.pipeline import analyse
from blocking.reasons import Reason, decimal_steps, decimal_texts, reason
from blocking.rules import RULE_CATEGORY, RULE_NAMES, RuleSet
from blocking.sender import BurstPolicy, SenderStats
from blocking.types import CATEGORIES, Category, Decision, Verdict
from blocking.vocabulary import HANGUL_FAMILIES, PORTAL_DOMAINS

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
    "disguise",
    "messenger_account",
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
_SPAM_CAMPAIGNS = ("disguised_address", "unofficial_link")
_ADDRESS_RULES = (*_LINK_RULES, "url_messenger", "messenger_id")
_ACCOUNT_CONTEXT = (*_ADDRESS_RULES, "messenger", "en_messenger", "foreign_sender", "account")
_CHANNEL_RULES = tuple(
    dict.fromkeys((*HARD_SIGNALS, *_CONTACT_RULES, "opt_out_080", "account", "money"))
)
"""A way to act on a text: a link, a number, an ID, an account, an amount, an ad mark."""
CAR_TEXT_LENGTH = 100
"""Longest text (letters and digits) the car-context guard applies to. A neighbour's
note about a car is short; long texts that mention 주차 or 차량 are notices, ads and
"4주차 당첨" lures. Chosen on the November 2022 validation month: of its spam, 61 texts
of 100 letters or more were delivered by the guard; no training ham longer than 60 was."""
QUIET_LENGTH = 15
"""Longest text (letters and digits) that counts as short for :data:`QUIET_BAR`."""
QUIET_BAR = 0.7
"""Score the model alone needs to block a short text with no way to act on it. Through
a safe number the texter's own number is hidden, so such a text ("마지막 확인
문자입니다") leads its reader nowhere; losing it when it was a neighbour's costs more.
Chosen on the November 2022 validation month (it lets through 10 of its 8,302 spam
texts and none of the validation ham), never on the December held-out month."""


GUARD_REASON = reason("car-context guard: delivered despite spam-like wording")
PAYMENT_REASON = reason("card or bank payment notice: delivered")
OWN_SITE_REASON = reason("notice linking only to its sender's own site: delivered")
QUIET_REASON = reason("short text with no link, number or ID: delivered unless the model is sure")
CAMPAIGN_REASONS = {
    "messenger_account": reason("messenger-account impersonation"),
    "government_link": reason("government fine with link"),
    "government_act": reason("government notice with a call to act"),
    "disguised_address": reason("site address in disguise"),
    "abroad": reason("sent from abroad"),
    "unofficial_link": reason("link to an unofficial site"),
}
_AD, _SPAM, _SMISHING, _SCAM = (
    CATEGORIES.index(c) for c in (Category.AD, Category.SPAM, Category.SMISHING, Category.SCAM)
)


_PAYMENT_ISSUER = re.compile(r"카드|은행|체크|국민|신한|하나|농협|우리|기업|씨티|kb|bc|nh|ibk")
_PAYMENT_EVENT = re.compile(r"승인|출금|입금|잔액|누적|일시불|할부|결제|사용|취소")
"""A card use ("... 4,500원 스타벅스역삼점 사용") or its cancellation is a payment notice
too. Adding 사용 and 취소 turned 7 of the 32,607 August-November KISA texts the shipped
model blocked into deliveries (a carrier's minutes notice, bank coupon and point notices,
two ads that say 사용신청): docs/benchmarks.md."""
_PAYMENT_AMOUNT = re.compile(r"\d{1,3}(?:,\d{3})+|\d+ ?원")


def _is_payment_notice(text: str) -> bool:
    """A card approval or a bank transfer notice ("[KB]05/08 21:44 ... 체크카드출금 2,400")."""
    return bool(
        _PAYMENT_ISSUER.search(text)
        and _PAYMENT_EVENT.search(text)
        and _PAYMENT_AMOUNT.search(text)
    )


_NOT_A_CAR = re.compile(
    r"\d\s*주\s*차(?!\s*장)"  # the Nth week (4주차 당첨), not a B1 car park (지하1주차장)
    r"|\d\s*년\s*(?:간|차|동안)?\s*(?:무|無|노)?\s*사고"  # "10년간 사고 없는": a site's record
)
_POLITE = frozenset({"죄송", "실례", "전화주세요", "전화부탁", "나갈", "나가야"})
"""Car-family words (model features) that are only politeness or a call-back request:
on November they alone had guarded 15 ads, loan offers and notices."""
_CAR_WORDS = tuple(w for w in HANGUL_FAMILIES["car"][2].split() if w not in _POLITE)


_CAR_WORD = re.compile("|".join(_CAR_WORDS))
_MAYBE_NOT_A_CAR = re.compile(
    "|".join(["\\W*".join(w) for w in sorted(_POLITE)] + [_NOT_A_CAR.pattern])
)
"""A cheap first look: a row with neither a polite word nor a :data:`_NOT_A_CAR` match
keeps its car context without the full check."""
_NOT_LETTER = re.compile(r"[\W_]+")


def _has_car_word(text: str) -> bool:
    """Whether a Korean car word of the vocabulary (politeness aside) is in ``text``,
    read without spaces and symbols as the rules read it (a regex here: the numpy
    :func:`blocking.normalize.compact` costs more than it saves on one short text)."""
    return _CAR_WORD.search(_NOT_LETTER.sub("", text)) is not None


def _links_to_institutions(hits: list[tuple[str, str]]) -> bool:
    """Every official link of the text is a public body's, bank's, card issuer's,
    courier's, carrier's or insurer's own site, not a portal, blog or shop."""
    for rule, url in hits:
        if rule == "url_official":
            labels = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].split(".")
            if any(".".join(labels[i:]) in PORTAL_DOMAINS for i in range(len(labels) - 1)):
                return False
    return True


_COMMON_TLDS = frozenset(
    ["com", "net", "org", "kr", "info", "biz", "xyz", "top", "site", "shop", "vip", "club"]
)


def _looks_like_a_link(url: str) -> bool:
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return (
        "://" in url
        or "/" in url
        or host.startswith("www.")
        or (host.rsplit(".", 1)[-1] in _COMMON_TLDS)
    )


@cache
def shared_rules() -> RuleSet:
    """One compiled rule set per process, shared by every filter (it holds no state)."""
    return RuleSet()


def _model_reason(category: Category, probability: str) -> Reason:
    return reason(f"n-gram model: {category.value} p={probability}")


_PROBABILITY_TEXTS = decimal_texts(2)
_MODEL_REASONS = [_model_reason(c, p) for c in CATEGORIES for p in _PROBABILITY_TEXTS]
"""The model's reason for class ``i`` and probability ``k / 100`` at ``i * 101 + k``."""


def _model_reasons(
    kinds: npt.NDArray[np.intp], probabilities: npt.NDArray[np.float32]
) -> list[Reason]:
    """The model's reason for each text ("n-gram model: spam p=0.97"): its class
    ``kinds[i]`` with that class's probability to two decimals, from
    :data:`_MODEL_REASONS` for the batch at once; the few probabilities whose rounding
    :func:`~blocking.reasons.decimal_steps` leaves uncertain are formatted one by one."""
    wide = probabilities.astype(np.float64)
    steps, sure = decimal_steps(wide, 2)
    at = kinds * len(_PROBABILITY_TEXTS) + steps
    found = list(map(_MODEL_REASONS.__getitem__, at.tolist()))
    for i in np.flatnonzero(~sure).tolist():
        found[i] = _model_reason(CATEGORIES[int(kinds[i])], f"{float(wide[i]):.2f}")
    return found


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
        self.version = model.version
        """The model version every verdict names (``Verdict.model``)."""
        self._burst = burst or BurstPolicy()
        col = {n: i for i, n in enumerate(rules.names)}
        self._hard = np.array([col[n] for n in HARD_SIGNALS])
        self._links = np.array([col[n] for n in _LINK_RULES])
        self._lures = np.array([col[n] for n in _LURE_RULES])
        self._car = np.array([col["car"], col["en_car"], col["url_map"]])
        self._car_words = col["car"]
        self._vice = np.array([col[n] for n in _VICE_RULES])
        self._contact = np.array([col[n] for n in _CONTACT_RULES])
        self._address = np.array([col[n] for n in _ADDRESS_RULES])
        self._sure_links = np.array([col[n] for n in _LINK_RULES if n != "url_other"])
        self._other_link = col["url_other"]
        self._account_context = np.array([col[n] for n in _ACCOUNT_CONTEXT])
        self._ad_marker = col["ad_marker"]
        self._opt_out = col["opt_out_080"]
        self._official = col["url_official"]
        self._channel = np.array([col[n] for n in _CHANNEL_RULES])
        self._campaign = {
            n: col[n]
            for n in ("disguise", "messenger_account", "authority", "notice_act", "foreign_sender")
        }
        self._family = col["family"]
        self._family_opener = col["family_opener"]
        self._ham_rules = np.array(
            [col[n] for n in rules.names if RULE_CATEGORY[n] is Category.HAM], dtype=np.intp
        )

    @classmethod
    def default(cls) -> MessageFilter:
        """The rules in this package and the model trained by ``python -m blocking.train``."""
        return cls.from_file(DEFAULT_PATH)

    @classmethod
    def from_file(cls, path: Path) -> MessageFilter:
        return cls(shared_rules(), LinearModel.load(path, RULE_NAMES))

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
        linked = np.asarray(flags[:, self._links].any(axis=1), dtype=np.bool_)
        lured_link = linked & flags[:, self._lures].any(axis=1)
        # Guarded texts stay at least 0.1 below the threshold (a quarter of it when that
        # is more), so a retrain or a small rule change cannot silently tip one.
        guard_cap = min(self._model.threshold * 0.75, self._model.threshold - 0.1)
        # Car context matters only where the guard could lower a score or a campaign of
        # the rule floor asks for it (a link, a foreign sender): only those rows are read.
        asked = (scores > guard_cap) | linked | (flags[:, self._campaign["foreign_sender"]] > 0)
        car = self._about_cars(flags, evidence.normalised, asked)
        guarded = np.asarray(
            car & ~hard & ~lured_link & (evidence.ngrams.sizes < CAR_TEXT_LENGTH),
            dtype=np.bool_,
        )
        # Payment notices (a card or bank, a transaction, an amount; no link, no hard
        # signal) are guarded like car texts: only texts the model would block are read.
        unlinked = ~linked & ~hard & ~guarded
        payments = []
        for i in np.flatnonzero(unlinked & (scores > guard_cap)).tolist():
            if _is_payment_notice(evidence.normalised[i]):
                guarded[i] = True
                payments.append(i)
        # So are notices whose only links are the sender's own official site (a courier's
        # tracking page, a bank's, a public body's): a lure cannot link there.
        own_site = (flags[:, self._official] > 0) & ~flags[:, self._address].any(axis=1)
        notices = []
        for i in np.flatnonzero(own_site & ~hard & ~guarded & (scores > guard_cap)).tolist():
            if _links_to_institutions(rules.hits[i]):
                guarded[i] = True
                notices.append(i)
        wide = scores.astype(np.float64)  # capped in float64: the cap itself, not its float32
        capped = np.where(guarded, np.minimum(wide, guard_cap), wide)
        # Short texts with no way to act on them need a sure model (see QUIET_BAR).
        quiet = (
            (evidence.ngrams.sizes <= QUIET_LENGTH)
            & (scores >= self._model.threshold)
            & (scores < QUIET_BAR)
            & ~flags[:, self._channel].any(axis=1)
        )
        if quiet.any():
            capped[quiet] = np.minimum(capped[quiet], guard_cap)
        kinds = probs[:, 1:].argmax(axis=1) + 1
        # Rule floor: combinations that are unwanted whatever the model says (the class
        # index of the category, 0 for none; a later line overrides an earlier one).
        vice = flags[:, self._vice].any(axis=1) & flags[:, self._contact].any(axis=1)
        floor = np.zeros(len(texts), dtype=kinds.dtype)
        # An ad mark or the 080 opt-out line the law requires of every ad.
        floor[(flags[:, self._ad_marker] > 0) | (flags[:, self._opt_out] > 0)] = _AD
        floor[vice & ~guarded] = _SPAM
        floor[lured_link] = _SMISHING
        campaigns = self._campaigns(flags, guarded, car, linked, rules.hits)
        for name, rows in campaigns.items():
            if name in _SPAM_CAMPAIGNS:  # unless a rule above already named it
                floor[rows & (floor == 0)] = _SPAM
            else:
                floor[rows] = _SMISHING
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
        guard_applied: list[Reason | None] = [
            GUARD_REASON if g else None for g in (guarded & (scores > guard_cap)).tolist()
        ]
        for i in payments:
            guard_applied[i] = PAYMENT_REASON
        for i in notices:
            guard_applied[i] = OWN_SITE_REASON
        quiet_applied = (quiet & ~guarded & ~lifted).tolist()
        model_reasons = _model_reasons(kinds, probs[np.arange(len(texts)), kinds])
        out = []
        block, deliver, spam, ham = Decision.BLOCK, Decision.DELIVER, Category.SPAM, Category.HAM
        # A named tuple's own constructor is a Python function; tuple.__new__ builds the
        # same value in C (a tenth of a microsecond less per text).
        new = tuple.__new__
        named = rules.reasons()
        # A reason is evidence for delivery (``Reason.ham``) exactly when its rule is a
        # ham rule, so a text with none of those flagged keeps its list whole when blocked.
        has_ham = np.asarray(flags[:, self._ham_rules].any(axis=1), dtype=np.bool_)
        no_ham: list[bool] = (~has_ham).tolist()
        for name, rows in campaigns.items():
            for i in np.flatnonzero(rows).tolist():
                named[i].insert(0, CAMPAIGN_REASONS[name])
        for score, kind, model_reason, guard, hushed, sender, hits, spam_only in zip(
            capped.tolist(),
            kinds.tolist(),
            model_reasons,
            guard_applied,
            quiet_applied,
            stats,
            named,
            no_ham,
            strict=True,
        ):
            if sender is not None and self._burst.is_burst(sender):
                reasons = [reason(sender.describe()), *hits]
                out.append(Outcome(block, spam, max(score, 0.99), reasons))
            elif score >= threshold:
                reasons = hits if spam_only else [r for r in hits if not r.ham]
                reasons.append(model_reason)
                out.append(new(Outcome, (block, CATEGORIES[kind], score, reasons)))
            else:
                if guard is not None:
                    hits.append(guard)
                elif hushed:
                    hits.append(QUIET_REASON)
                out.append(new(Outcome, (deliver, ham, score, hits)))
        return out

    def _unmistakable_links(
        self, flags: npt.NDArray[np.float32], hits: list[list[tuple[str, str]]]
    ) -> npt.NDArray[np.bool_]:
        """Rows whose link is certainly one: a shortener, an IP, an APK, a throw-away
        domain, or another link with a scheme, ``www.``, a path or a common top-level
        domain ("week. Do what you want" reads as ``week.do``: not a link)."""
        sure: npt.NDArray[np.bool_] = np.asarray(flags[:, self._sure_links].any(axis=1))
        for i in np.flatnonzero(~sure & (flags[:, self._other_link] > 0)).tolist():
            sure[i] = any(rule == "url_other" and _looks_like_a_link(url) for rule, url in hits[i])
        return sure

    def _about_cars(
        self,
        flags: npt.NDArray[np.float32],
        normalised: list[str],
        asked: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.bool_]:
        """Rows with car context, for the guard and the campaign floor (the rule flag the
        model reads stays as it was trained). In the ``asked`` rows whose only evidence
        is Korean car words, a word counts only outside a week number ("4주차 당첨") or a
        site's record ("10년간 사고 없는"), and politeness alone (죄송, 전화주세요: every
        caller's words, :data:`_POLITE`) is not a car."""
        car = np.asarray(flags[:, self._car].any(axis=1), dtype=np.bool_)
        only_words = car & (flags[:, self._car].sum(axis=1) == flags[:, self._car_words])
        only_words &= asked
        for i in np.flatnonzero(only_words).tolist():
            text = normalised[i]
            if _MAYBE_NOT_A_CAR.search(text) and not any(
                _has_car_word(piece) for piece in _NOT_A_CAR.split(text)
            ):
                car[i] = False
        return car

    def _campaigns(
        self,
        flags: npt.NDArray[np.float32],
        guarded: npt.NDArray[np.bool_],
        car: npt.NDArray[np.bool_],
        linked: npt.NDArray[np.bool_],
        hits: list[list[tuple[str, str]]],
    ) -> dict[str, npt.NDArray[np.bool_]]:
        """Rows of each campaign of real Korean traffic that the rule floor blocks."""
        col = self._campaign
        has = {name: flags[:, at] > 0 for name, at in col.items()}
        address = flags[:, self._address].any(axis=1)
        found: dict[str, npt.NDArray[np.bool_]] = {
            "messenger_account": has["messenger_account"]
            & flags[:, self._account_context].any(axis=1),
            "government_link": has["authority"] & linked,
            "government_act": has["authority"] & has["notice_act"] & ~guarded,
            "disguised_address": has["disguise"] & address,
            "abroad": has["foreign_sender"] & ~car,
            # A parking text has no reason to link anywhere but a map or an official
            # site; a notice from a bank or courier links to its own domain.
            "unofficial_link": np.asarray(linked & ~car),
        }
        if found["unofficial_link"].any():
            found["unofficial_link"] &= self._unmistakable_links(flags, hits)
        return {name: rows for name, rows in found.items() if rows.any()}

    def _verdict(self, outcome: Outcome) -> Verdict:
        reasons = tuple(r.text for r in outcome.reasons)
        return Verdict(outcome.decision, outcome.category, outcome.score, reasons, self.version)
