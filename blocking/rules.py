"""Rules that know how Korean (and UK-style English) unwanted texts look.

A :class:`RuleSet` turns a batch of *normalised* texts into a matrix of rule flags
(one column per rule, used as model features) plus the matched fragments, which become
the human-readable reasons of a verdict. It runs three combined regexes per batch over
the ``SEP``-joined texts instead of one regex per rule per text. Every alternative
starts with a literal or a narrow character class (digits, dots, brackets, a keyword
trie) because Python's regex engine skips such positions in C; look-behind checks are
done in Python on the few matches instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from blocking.normalize import SEP, compact
from blocking.types import Category
from blocking.urls import PHONE_KINDS, URL_KINDS, mask_phone, phone_kind, url_at, url_kind
from blocking.vocabulary import HANGUL_FAMILIES, LATIN_FAMILIES

_TLDS = (
    "com|net|org|kr|ly|gl|do|la|me|to|io|co|xyz|top|site|shop|info|biz|cc|gd|us|link|app|click"
    "|icu|buzz|vip|club|online|store|live|pro|asia|tk|ml|ga|cf|gq|uk|tv|ws|cn|jp|at|im|so|ht|pw|id"
)
_NUMBER = re.compile(r"\d(?:\d|[-.,) ](?=\d))*")
_BRACKET_OR_CURRENCY = re.compile(
    r"[(\[<{【£$€](?:\s*(?:광\s*고|(?:국외|국제|해외)\s*발신)\s*[)\]>}】]|\s?\d[\d,.]*)"
)
_LINK_OR_HANDLE = re.compile(
    r"(?:\.(?:" + _TLDS + r")(?![\w-])|://|@[a-z][a-z0-9_]{3,}|카톡|카카오|텔레|라인|위챗)"
)
_MESSENGER_ID = re.compile(
    r"(?:카톡|카카오톡|카카오|텔레그램|텔레|라인|위챗)\s*(?:id|아이디)?\s*[:：]?\s*@?[a-z][a-z0-9_.]{2,}"
)
_IP = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_MONEY_UNIT = re.compile(r"\s*(?:만\s*원|억|원|%|pounds\b|usd\b|dollars\b)")
_SHORT_CODE_CUE = re.compile(r"\b(?:text|txt|send|reply|call|sms)\b")
_UNIT_START = frozenset(" 만원억%pud")
_NUMBER_SEPARATORS = str.maketrans("", "", "-., )")
_OPT_OUT_NUMBER = re.compile(r"0?80\d{7,8}")
_OPT_OUT_WORDS = frozenset({"무료거부", "수신거부", "무료수신거부"})

_HANGUL_WORDS: Final[dict[str, str]] = {
    w: fam for fam, (_c, _l, words) in reversed(HANGUL_FAMILIES.items()) for w in words.split()
}
_LATIN_WORDS: Final[dict[str, str]] = {
    w.replace("_", " "): fam
    for fam, (_c, _l, words) in reversed(LATIN_FAMILIES.items())
    for w in words.split()
}

URL_AND_PHONE_RULES: Final[tuple[str, ...]] = (*URL_KINDS, *PHONE_KINDS)
RULE_NAMES: Final[tuple[str, ...]] = (
    "ad_marker",
    "foreign_sender",
    "phone_rep",
    "money",
    "short_code",
    "messenger_id",
    *URL_AND_PHONE_RULES,
    "opt_out_080",
    *HANGUL_FAMILIES,
    *LATIN_FAMILIES,
)
"""Model feature order. Changing it requires ``python -m blocking.train``."""

_LABELS: Final[dict[str, str]] = {
    "ad_marker": "광고 표기",
    "foreign_sender": "sent from abroad",
    "messenger_id": "messenger ID",
    "phone_rep": "company number in body",
    "short_code": "premium short code",
    "money": "money amount",
    "opt_out_080": "무료수신거부 080 line",
    "url_shortener": "URL shortener",
    "url_ip": "IP-address URL",
    "url_apk": "APK download link",
    "url_map": "map link",
    "url_messenger": "messenger link",
    "url_risky_tld": "URL with a throw-away domain",
    "url_other": "URL",
    "phone_mobile": "mobile number in body",
    "phone_080": "080 number in body",
    "phone_internet": "internet-phone number in body",
    "phone_premium": "premium-rate number in body",
    "phone_landline": "landline number in body",
    **{n: label for n, (_c, label, _w) in LATIN_FAMILIES.items()},
    **{n: label for n, (_c, label, _w) in HANGUL_FAMILIES.items()},
}

RULE_CATEGORY: Final[dict[str, Category]] = {
    **dict.fromkeys(RULE_NAMES, Category.SPAM),
    "ad_marker": Category.AD,
    "opt_out_080": Category.AD,
    "phone_080": Category.AD,
    "url_map": Category.HAM,
    "phone_mobile": Category.HAM,
    "phone_landline": Category.HAM,
    "url_other": Category.SMISHING,
    "url_apk": Category.SMISHING,
    "url_ip": Category.SMISHING,
    "url_shortener": Category.SMISHING,
    "url_risky_tld": Category.SMISHING,
    "foreign_sender": Category.SMISHING,
    **{n: c for n, (c, _l, _w) in LATIN_FAMILIES.items()},
    **{n: c for n, (c, _l, _w) in HANGUL_FAMILIES.items()},
}
"""The category each rule is evidence for; ``ham`` rules argue for delivery."""


def trie_regex(words: list[str]) -> str:
    """One alternation that shares prefixes, so the engine tests each first letter once."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = "(?:" + "|".join(branches) + ")"
        return body + "?" if "" in node else body

    return emit(root)


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule that fired on one text, with the fragment it matched."""

    rule: str
    fragment: str

    @property
    def category(self) -> Category:
        return RULE_CATEGORY[self.rule]

    def reason(self) -> str:
        label = _LABELS[self.rule]
        if self.rule == "ad_marker":
            return f"{label} (광고)"
        if self.rule.startswith("phone") or self.rule == "opt_out_080":
            return f"{label} {mask_phone(self.fragment)}"
        if self.rule.startswith("url_"):
            host = self.fragment.split("://", 1)[-1].split("/", 1)[0].removeprefix("www.")
            return f"{label} {host}"
        return f"{label}: {self.fragment}"


@dataclass(frozen=True, slots=True)
class RuleHits:
    """Rule evidence for a batch: ``flags[i, j]`` is 1 when rule ``j`` fired on text ``i``.

    ``hits[i]`` holds ``(rule, fragment)`` pairs in match order, possibly repeated;
    :meth:`for_text` turns them into :class:`Hit` values only for texts that need
    reasons, which keeps the hot loop free of object construction.
    """

    flags: npt.NDArray[np.float32]
    hits: list[list[tuple[str, str]]]

    def for_text(self, index: int, per_rule: int = 2) -> list[Hit]:
        out: list[Hit] = []
        seen: dict[str, list[str]] = {}
        for rule, fragment in self.hits[index]:
            same = seen.setdefault(rule, [])
            if len(same) < per_rule and fragment not in same:
                same.append(fragment)
                out.append(Hit(rule, fragment))
        return out


class RuleSet:
    """The compiled rules; built once and shared (matching keeps no state)."""

    _BIGRAM_BITS = 20

    def __init__(self) -> None:
        self.names = RULE_NAMES
        self._column = {n: i for i, n in enumerate(RULE_NAMES)}
        self._latin = re.compile(trie_regex(list(_LATIN_WORDS)) + r"(?![a-z0-9])")
        # Hangul words are found through a table of their first two letters: a numpy
        # look-up per character, then str.startswith at the rare candidate positions.
        self._by_bigram: dict[str, list[str]] = {}
        for word in sorted(_HANGUL_WORDS, key=len, reverse=True):
            self._by_bigram.setdefault(word[:2], []).append(word)
        self._bigram_table = np.zeros(1 << self._BIGRAM_BITS, dtype=np.bool_)
        for bigram in self._by_bigram:
            pair = np.array([ord(bigram[0]), ord(bigram[1])], dtype=np.uint32)
            self._bigram_table[_bigram_keys(pair, self._BIGRAM_BITS)] = True

    def scan(self, normalised: list[str]) -> RuleHits:
        """Flags and hits for each already-normalised text, in order."""
        hits: list[list[tuple[str, str]]] = [[] for _ in normalised]
        joined = SEP.join(normalised)
        starts = _starts(normalised)
        self._scan_numbers(joined, starts, hits)
        self._scan_marks(joined, starts, hits)
        self._scan_links(joined, starts, hits)
        self._scan_latin(joined, starts, hits)
        squeezed = compact(joined)
        self._scan_hangul(squeezed, _starts(squeezed.split(SEP)), hits)
        flags = np.zeros((len(normalised), len(self.names)), dtype=np.float32)
        rows = [i for i, found in enumerate(hits) for _ in found]
        if rows:
            cols = [self._column[rule] for found in hits for rule, _ in found]
            flags[np.asarray(rows), np.asarray(cols)] = 1.0
        return RuleHits(flags, hits)

    def _scan_numbers(self, joined: str, starts: Starts, hits: list[list[tuple[str, str]]]) -> None:
        matches = list(_NUMBER.finditer(joined))
        for m, owner in zip(matches, _owners(starts, matches), strict=True):
            at, run = m.start(), m.group()
            before = joined[at - 1] if at else " "
            if before in "£$€" or (before.isalpha() and before.isascii()):
                continue
            unit = (
                _MONEY_UNIT.match(joined, m.end())
                if joined[m.end() : m.end() + 1] in _UNIT_START
                else None
            )
            if unit:
                hits[owner].append(("money", run + unit.group()))
                continue
            if len(run) < 5:
                continue
            digits = len(run.translate(_NUMBER_SEPARATORS))
            if digits < len(run) and _IP.fullmatch(run):
                url, _end = url_at(joined, at)
                hits[owner].append(("url_ip", url))
            elif run[0] == "0" and 9 <= digits <= 11:
                hits[owner].append((phone_kind(run), run))
            elif run[0] == "1" and run[1:2] in "56789" and digits == 8:
                hits[owner].append(("phone_rep", run))
            elif len(run) == 5 and _SHORT_CODE_CUE.search(joined, max(at - 30, 0), at):
                hits[owner].append(("short_code", run))

    def _scan_marks(self, joined: str, starts: Starts, hits: list[list[tuple[str, str]]]) -> None:
        matches = list(_BRACKET_OR_CURRENCY.finditer(joined))
        for m, owner in zip(matches, _owners(starts, matches), strict=True):
            found = m.group()
            if found[0] in "£$€":
                hits[owner].append(("money", found))
            else:
                hits[owner].append(("ad_marker" if "광" in found else "foreign_sender", found))

    def _scan_links(self, joined: str, starts: Starts, hits: list[list[tuple[str, str]]]) -> None:
        matches = list(_LINK_OR_HANDLE.finditer(joined))
        url_end = -1
        for m, owner in zip(matches, _owners(starts, matches), strict=True):
            at, first = m.start(), joined[m.start()]
            before = joined[at - 1] if at else " "
            if first in ".:":
                if at < url_end:
                    continue
                url, url_end = url_at(joined, at)
                if url:
                    hits[owner].append((url_kind(url), url))
            elif first == "@":
                if not (before.isalnum() or before in "._-"):
                    hits[owner].append(("messenger_id", m.group()))
            else:
                found = _MESSENGER_ID.match(joined, at)
                if found:
                    hits[owner].append(("messenger_id", found.group()))

    def _scan_latin(self, joined: str, starts: Starts, hits: list[list[tuple[str, str]]]) -> None:
        matches = list(self._latin.finditer(joined))
        for m, owner in zip(matches, _owners(starts, matches), strict=True):
            at = m.start()
            if at and joined[at - 1].isascii() and joined[at - 1].isalnum():
                continue
            word = m.group()
            hits[owner].append((_LATIN_WORDS[word], word))

    def _scan_hangul(
        self, squeezed: str, starts: Starts, hits: list[list[tuple[str, str]]]
    ) -> None:
        codes = np.frombuffer(squeezed.encode("utf-32-le"), dtype=np.uint32)
        if len(codes) < 2:
            return
        candidates = np.flatnonzero(self._bigram_table[_bigram_keys(codes, self._BIGRAM_BITS)])
        if not len(candidates):
            return
        owners: list[int] = (np.searchsorted(starts, candidates, side="right") - 1).tolist()
        taken_until = -1
        for at, owner in zip(candidates.tolist(), owners, strict=True):
            if at < taken_until:
                continue
            for word in self._by_bigram.get(squeezed[at : at + 2], ()):
                if squeezed.startswith(word, at):
                    taken_until = at + len(word)
                    hits[owner].append((_HANGUL_WORDS[word], word))
                    if word in _OPT_OUT_WORDS:
                        number = _OPT_OUT_NUMBER.match(squeezed, taken_until)
                        if number:
                            hits[owner].append(("opt_out_080", number.group()))
                    break


Starts = npt.NDArray[np.int64]


def _bigram_keys(codes: npt.NDArray[np.uint32], bits: int) -> npt.NDArray[np.uint64]:
    pairs = codes[:-1].astype(np.uint64) * np.uint64(0x9E3779B1) + codes[1:].astype(np.uint64)
    keys: npt.NDArray[np.uint64] = (pairs * np.uint64(0x2545F4914F6CDD1D)) >> np.uint64(64 - bits)
    return keys


def _starts(parts: list[str]) -> Starts:
    lengths = np.fromiter((len(p) + 1 for p in parts), dtype=np.int64, count=len(parts))
    return np.concatenate(([0], np.cumsum(lengths)[:-1]))


def _owners(starts: Starts, matches: list[re.Match[str]]) -> list[int]:
    if not matches:
        return []
    at = np.fromiter((m.start() for m in matches), dtype=np.int64, count=len(matches))
    owners: list[int] = (np.searchsorted(starts, at, side="right") - 1).tolist()
    return owners
