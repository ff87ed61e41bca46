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
import string
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt

from blocking.features import NgramBatch
from blocking.hangul import HangulVocabulary
from blocking.normalize import COMPACT_KEEPS, SEP, code_points, compact_codes, lookup
from blocking.reasons import CACHE_SIZE, Reason, reason
from blocking.types import Category
from blocking.urls import (
    PHONE_KINDS,
    URL_KINDS,
    mask_phone,
    phone_kind_of_digits,
    url_at,
    url_kind,
)
from blocking.vocabulary import HANGUL_FAMILIES, LATIN_FAMILIES


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


_TLDS = (
    "com|net|org|kr|ly|gl|do|la|me|to|io|co|xyz|top|site|shop|info|biz|cc|gd|us|link|app|click"
    "|icu|buzz|vip|club|online|store|live|pro|asia|tk|ml|ga|cf|gq|uk|tv|ws|cn|jp|at|im|so|ht|pw|id"
    "|bet|win|fun|cyou|sbs|cfd|kim|game|games|casino"
)
_BRACKET_OR_CURRENCY = re.compile(
    r"[(\[<{【£$€](?:\s*(?:광\s*고|(?:국외|국제|해외)\s*발신)\s*[)\]>}】]|\s?\d[\d,.]*)"
)
# The TLDs as a trie: the engine tries it at every dot of the batch. (At most one TLD
# can match at a dot, as the next character must not be a letter, so the order of the
# alternatives does not matter.)
_LINK_OR_HANDLE = re.compile(
    r"(?:\.(?:"
    + trie_regex(_TLDS.split("|"))
    + r")(?![a-z0-9_-])|://|@[a-z][a-z0-9_]{3,}|카톡|카카오|텔레|라인|위챗)"
)
_MESSENGER_ID = re.compile(
    r"(?:카톡|카카오톡|카카오|텔레그램|텔레|라인|위챗)\s*(?:id|아이디)?\s*[:：]?\s*@?[a-z][a-z0-9_.]{2,}"
)
_IP = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_MONEY_UNIT = re.compile(r"\s*(?:만\s*원|억|원|%|pounds\b|usd\b|dollars\b|won\b|krw\b)")
_AMOUNT_BEFORE = re.compile(r"\d ?$")
_SHORT_CODE_CUE = re.compile(r"\b(?:text|txt|send|reply|call|sms)\b")
_NUMBER_SEPARATORS = str.maketrans("", "", "-., )")
_UNIT_START = frozenset(" 만원억%pudwk")


def _bmp_table(chars: str) -> npt.NDArray[np.bool_]:
    table = np.zeros(0x10000, dtype=np.bool_)
    table[[ord(c) for c in chars]] = True
    return table


_DIGIT, _SEPARATOR = 1, 2
_DIGIT_OR_SEPARATOR = np.array(
    [
        _DIGIT if chr(c).isdecimal() else _SEPARATOR if chr(c) in "-., )" else 0
        for c in range(0x10000)
    ],
    dtype=np.uint8,
)
"""Digits (what the regex ``\\d`` matches) and the separators a run of them may hold,
for the Basic Multilingual Plane."""
_UNIT_FIRST = _bmp_table("".join(_UNIT_START - {" "}))
_BLANK = np.array([chr(c).isspace() for c in range(0x10000)], dtype=np.bool_)
# No number is read right after a Latin letter ("a4", "covid19") or a currency sign
# (the marks rule reads "$500" whole).
_NOT_BEFORE_NUMBER = _bmp_table(string.ascii_letters + "£$€")

# Checks a digit run may need (bit flags), decided for all runs at once with numpy.
_MAYBE_MONEY, _MAYBE_IP, _MAYBE_PHONE, _MAYBE_REP, _MAYBE_SHORT_CODE = 1, 2, 4, 8, 16
_ZERO, _ONE = np.uint32(ord("0")), np.uint32(ord("1"))
_REP_SECOND = _bmp_table("56789")
"""Second digit of a company number (1588-, 1644-, ...)."""

# Where a match of _BRACKET_OR_CURRENCY or _LINK_OR_HANDLE can begin, for numpy to
# find before either regex is tried: each alternative's first character (its id here)
# and what its second may be. ``finditer`` over the whole batch spent most of these two
# scans stepping through characters no match begins at.
_MARK_ID = 8
_PAIR_FIRSTS = ".@:카텔라위"
_PAIR_SECONDS = (
    string.ascii_lowercase,  # . then a TLD
    string.ascii_lowercase,  # @ then a handle
    "/",  # ://
    "톡카",  # 카톡, 카카오
    "레",  # 텔레
    "인",  # 라인
    "챗",  # 위챗
)
_FIRST_ID = np.zeros(0x10000, dtype=np.uint8)
_SECOND_OK = np.zeros((_MARK_ID + 1, 0x10000), dtype=np.bool_)
for _id, (_lead, _nexts) in enumerate(zip(_PAIR_FIRSTS, _PAIR_SECONDS, strict=True), 1):
    _FIRST_ID[ord(_lead)] = _id
    _SECOND_OK[_id] = _bmp_table(_nexts)
_FIRST_ID[[ord(c) for c in "([<{【£$€"]] = _MARK_ID
_IS_FIRST = _FIRST_ID > 0
_LINK_FIRST, _KEPT = 16, 32
"""Bits of :data:`_CLASSES`: a match of either pattern above can begin here; the
character stays in the compact form (:func:`blocking.normalize.compact`, whose table's
last entry, for the planes beyond the BMP, is U+FFFF's: not kept)."""
_CLASSES = _DIGIT_OR_SEPARATOR | np.where(_IS_FIRST, _LINK_FIRST, 0).astype(np.uint8)
_CLASSES |= np.where(COMPACT_KEEPS[: len(_CLASSES)], _KEPT, 0).astype(np.uint8)
"""What the rule scans ask of every character of a batch, as bits of one look-up:
:data:`_DIGIT` or :data:`_SEPARATOR` (the low two bits), :data:`_LINK_FIRST`,
:data:`_KEPT`, and (in
``RuleSet._classes``) the Latin bits :data:`_BEGINS_WORD` and :data:`_ALNUM`. Three
look-ups of the batch (four with the compact form's) were as many gathers from 64 KB
tables; the bits cost a few byte-wide passes."""
# After a mark's opening character: space (\s), a digit (\d) or the first letter of
# 광고, 국외/국제 or 해외; U+FFFF stands for every code point above the BMP.
_SECOND_OK[_MARK_ID] = _BLANK | (_DIGIT_OR_SEPARATOR == _DIGIT) | _bmp_table("광국해\uffff")

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
    "disguise",
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
    "disguise": "letters in disguise",
    "messenger_id": "messenger ID",
    "phone_rep": "company number in body",
    "short_code": "premium short code",
    "money": "money amount",
    "opt_out_080": "무료수신거부 080 line",
    "url_shortener": "URL shortener",
    "url_ip": "IP-address URL",
    "url_apk": "APK download link",
    "url_map": "map link",
    "url_official": "official site",
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
    "url_official": Category.HAM,
    "phone_mobile": Category.HAM,
    "phone_landline": Category.HAM,
    "url_other": Category.SMISHING,
    "url_apk": Category.SMISHING,
    "url_ip": Category.SMISHING,
    "url_shortener": Category.SMISHING,
    "url_risky_tld": Category.SMISHING,
    "foreign_sender": Category.SMISHING,
    "disguise": Category.SPAM,
    **{n: c for n, (c, _l, _w) in LATIN_FAMILIES.items()},
    **{n: c for n, (c, _l, _w) in HANGUL_FAMILIES.items()},
}
"""The category each rule is evidence for; ``ham`` rules argue for delivery."""
_IS_HAM: Final[dict[str, bool]] = {n: c is Category.HAM for n, c in RULE_CATEGORY.items()}


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


class _HitReasons(dict[tuple[str, str], Reason]):
    """``(rule, fragment)`` -> its :class:`~blocking.reasons.Reason`, formatted on first
    use: ``__getitem__`` stays dict's own C look-up, and a miss (a new URL, phone number
    or amount) costs one :meth:`__missing__` call, not a slower path for its batch."""

    def __missing__(self, key: tuple[str, str]) -> Reason:
        if len(self) >= CACHE_SIZE:
            self.clear()
        rule, fragment = key
        found = self[key] = reason(Hit(rule, fragment).reason(), _IS_HAM[rule])
        return found


_HIT_REASONS = _HitReasons()
_first = itemgetter(0)


def reason_of(rule: str, fragment: str) -> Reason:
    """The :class:`~blocking.reasons.Reason` of one hit, memoised.

    Vocabulary hits repeat endlessly ("car context: 주차"), so each distinct pair is
    formatted and escaped once.
    """
    return _HIT_REASONS[rule, fragment]


REPORTED_PER_RULE = 2
"""Different fragments of one rule a verdict reports."""


def distinct_hits(
    found: list[tuple[str, str]], per_rule: int = REPORTED_PER_RULE
) -> list[tuple[str, str]]:
    """The first ``per_rule`` different fragments of each rule in ``found``, in order."""
    if len(found) < 2:
        return found
    unique = list(dict.fromkeys(found))  # first occurrences, in order
    if len(unique) <= per_rule:
        return unique
    counts: dict[str, int] = {}
    out: list[tuple[str, str]] = []
    for pair in unique:
        rule = pair[0]
        seen = counts.get(rule, 0)
        if seen < per_rule:
            counts[rule] = seen + 1
            out.append(pair)
    return out


@dataclass(frozen=True, slots=True)
class RuleHits:
    """Rule evidence for a batch: ``flags[i, j]`` is 1 when rule ``j`` fired on text ``i``.

    ``hits[i]`` holds ``(rule, fragment)`` pairs in match order, possibly repeated;
    :meth:`distinct` keeps at most ``per_rule`` different fragments per rule, which is
    what a verdict reports.
    """

    flags: npt.NDArray[np.float32]
    hits: list[list[tuple[str, str]]]
    crowded: list[bool] | None = None
    """Per text: some rule fired more than :data:`REPORTED_PER_RULE` times (``None``:
    unknown), so :meth:`reported` may have to drop fragments, not only repeats."""

    def distinct(self, index: int, per_rule: int = REPORTED_PER_RULE) -> list[tuple[str, str]]:
        return distinct_hits(self.hits[index], per_rule)

    def reported(self) -> list[list[tuple[str, str]]]:
        """:meth:`distinct` of every text: what the verdicts report."""
        if self.crowded is None:
            return [distinct_hits(found) for found in self.hits]
        fromkeys = dict.fromkeys
        return [
            distinct_hits(found) if crowd else list(fromkeys(found)) if len(found) > 1 else found
            for found, crowd in zip(self.hits, self.crowded, strict=True)
        ]

    def reasons(self) -> list[list[Reason]]:
        """The :class:`Reason` of every :meth:`reported` hit, text by text, looked up
        with C-level iterators (new fragments are formatted by the cache on a miss)."""
        known = _HIT_REASONS.__getitem__
        if self.crowded is None:
            return [list(map(known, pairs)) for pairs in self.reported()]
        fromkeys = dict.fromkeys
        return [
            list(map(known, distinct_hits(found) if crowd else fromkeys(found)))
            for found, crowd in zip(self.hits, self.crowded, strict=True)
        ]

    def for_text(self, index: int, per_rule: int = REPORTED_PER_RULE) -> list[Hit]:
        return [Hit(rule, fragment) for rule, fragment in self.distinct(index, per_rule)]


class RuleSet:
    """The compiled rules; built once and shared (matching keeps no state)."""

    _BIGRAM_BITS = 20

    def __init__(self) -> None:
        self.names = RULE_NAMES
        self._column = {n: i for i, n in enumerate(RULE_NAMES)}
        self._latin = re.compile(trie_regex(list(_LATIN_WORDS)) + r"(?![a-z0-9])")
        self._latin_starts = np.zeros(128**3, dtype=np.bool_)
        self._latin_firsts = np.zeros(128, dtype=np.bool_)
        for word in _LATIN_WORDS:
            self._latin_starts[_ascii_key(*map(ord, word[:3]))] = True
            self._latin_firsts[ord(word[0])] = True
        # Both questions _scan_latin asks of every character, as bits of the rules' one
        # look-up (non-ASCII characters have neither).
        self._classes = _CLASSES.copy()
        self._classes[:128] |= np.where(self._latin_firsts, _BEGINS_WORD, 0).astype(np.uint8)
        self._classes[:128] |= np.where(_ASCII_ALNUM, _ALNUM, 0).astype(np.uint8)
        # The first four characters of a listed word, or a three-letter word and the
        # character after it (anything but a letter or digit; 127 stands for non-ASCII),
        # as ``three-letter key * 128 + fourth``: sorted, for sorted_contains.
        fours = {_ascii_key(*map(ord, w[:3])) * 128 + ord(w[3]) for w in _LATIN_WORDS if len(w) > 3}
        fours |= {
            _ascii_key(*map(ord, w)) * 128 + after
            for w in _LATIN_WORDS
            if len(w) == 3
            for after in range(128)
            if not ("a" <= chr(after) <= "z" or "0" <= chr(after) <= "9")
        }
        self._latin_fours = np.array(sorted(fours), dtype=np.int64)
        self._hangul = HangulVocabulary(_HANGUL_WORDS)

    def scan(self, normalised: list[str]) -> RuleHits:
        """Flags and hits for each already-normalised text, in order."""
        joined = SEP.join(normalised)
        codes = code_points(joined)
        return self.scan_joined(normalised, joined, codes, compact_codes(joined))

    def classes(self, codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint8]:
        """What the scans ask of each code point (the bits of :data:`_CLASSES`), for
        :meth:`compact_of` and :meth:`scan_joined`."""
        return lookup(self._classes, codes)

    @staticmethod
    def compact_of(
        codes: npt.NDArray[np.uint32], classes: npt.NDArray[np.uint8]
    ) -> npt.NDArray[np.uint32]:
        """:func:`blocking.normalize.compact_of_codes` ``(codes)`` from their
        :meth:`classes`, without a look-up of its own."""
        kept: npt.NDArray[np.uint32] = codes[(classes & np.uint8(_KEPT)) != 0]
        return kept

    def scan_joined(
        self,
        normalised: list[str],
        joined: str,
        codes: npt.NDArray[np.uint32],
        squeezed_codes: npt.NDArray[np.uint32],
        ngrams: NgramBatch | None = None,
        seed: list[list[tuple[str, str]]] | None = None,
        classes: npt.NDArray[np.uint8] | None = None,
    ) -> RuleHits:
        """:meth:`scan` given the ``SEP``-joined texts, their code points and the code
        points of their :func:`~blocking.normalize.compact` form, which the caller
        (:func:`blocking.pipeline.analyse`) computes once for the n-gram model too,
        and optionally the model's n-grams of that form, which narrow the Hangul scan,
        and hits found before normalisation (``seed``, one list per text, extended),
        and the :meth:`classes` of ``codes`` when the caller has them.
        """
        hits = seed if seed is not None else [[] for _ in normalised]
        starts = _starts(normalised)
        if classes is None:
            classes = self.classes(codes)
        self._scan_numbers(joined, codes, starts, hits, classes)
        marks, links = _mark_and_link_starts(codes, classes)
        self._scan_marks(joined, starts, hits, marks)
        self._scan_links(joined, starts, hits, links)
        self._scan_latin(joined, codes, starts, hits, classes)
        squeezed = squeezed_codes.tobytes().decode("utf-32-le")
        seps = np.flatnonzero(squeezed_codes == 0)
        self._hangul.scan(squeezed, squeezed_codes, np.concatenate(([0], seps + 1)), hits, ngrams)
        n_rules = len(self.names)
        counts = np.fromiter(map(len, hits), dtype=np.intp, count=len(hits))
        total = int(counts.sum())
        # C-level iterators: this runs once per hit of the batch.
        rules = map(_first, chain.from_iterable(hits))
        cols = np.fromiter(map(self._column.__getitem__, rules), dtype=np.intp, count=total)
        cells = np.repeat(np.arange(len(hits)) * n_rules, counts) + cols
        fired = np.bincount(cells, minlength=len(hits) * n_rules).reshape(len(hits), n_rules)
        crowded = np.any(fired > REPORTED_PER_RULE, axis=1)
        return RuleHits(np.minimum(fired, 1).astype(np.float32), hits, crowded.tolist())

    def _scan_numbers(
        self,
        joined: str,
        codes: npt.NDArray[np.uint32],
        starts: Starts,
        hits: list[list[tuple[str, str]]],
        classes: npt.NDArray[np.uint8],
    ) -> None:
        """Money amounts, phone numbers, IP links and short codes from digit runs.

        A run is digits with single separators (``-.,) ``) between them. Runs are
        found with numpy; only those that can matter (five characters or more, or a
        money unit may follow) reach the Python checks. Short bare numbers ("3분",
        "2층") are most runs and never do. ``classes``: the batch's :meth:`classes`.
        """
        n = len(codes)
        if not n:
            return
        kind = classes & np.uint8(_DIGIT | _SEPARATOR)
        begin, end, counted = _digit_runs(joined, codes, kind)
        # The characters around each run (a space before the first, ends after the last).
        last = n - 1
        after = np.where(end <= last, _bmp_at(codes, np.minimum(end, last)), 0)
        then = np.where(end + 1 <= last, _bmp_at(codes, np.minimum(end + 1, last)), 0)
        before = np.where(begin > 0, _bmp_at(codes, begin - 1), 32)
        # A unit may follow: its first letter, or a space and then a letter or more space.
        unit_next = np.take(_UNIT_FIRST, after) | (
            (after == 32) & (np.take(_UNIT_FIRST, then) | np.take(_BLANK, then))
        )
        useful = (end - begin >= 5) | unit_next
        useful &= ~np.take(_NOT_BEFORE_NUMBER, before)
        begin, end, unit_next = begin[useful], end[useful], unit_next[useful]
        after, then = after[useful], then[useful]
        # What each run can be, decided here for all of them: only runs that may be
        # followed by a unit or that have a shape worth checking reach Python.
        size = end - begin
        digits = counted[useful]
        first = _bmp_at(codes, begin)
        second = np.where(begin + 1 <= last, _bmp_at(codes, np.minimum(begin + 1, last)), 0)
        checks = np.where(unit_next, _MAYBE_MONEY, 0)  # where _MONEY_UNIT can match
        checks |= np.where(
            size >= 5,
            np.where((digits < size) & (size >= 7) & (size <= 15), _MAYBE_IP, 0)
            | np.where((first == _ZERO) & (digits >= 9) & (digits <= 11), _MAYBE_PHONE, 0)
            | np.where(
                (first == _ONE) & np.take(_REP_SECOND, second) & (digits == 8), _MAYBE_REP, 0
            )
            | np.where(size == 5, _MAYBE_SHORT_CODE, 0),
            0,
        )
        kept = np.flatnonzero(checks)
        begin, end, checks = begin[kept], end[kept], checks[kept]
        # Where a plain unit ends ("3,000원", "50 %", "5만원": most money), 0 elsewhere.
        units = _plain_unit_ends(end, after[kept], then[kept], (checks & _MAYBE_MONEY) != 0)
        owners: list[int] = (np.searchsorted(starts, begin, side="right") - 1).tolist()
        for at, stop, owner, check, unit_end in zip(
            begin.tolist(), end.tolist(), owners, checks.tolist(), units.tolist(), strict=True
        ):
            if unit_end:  # what _MONEY_UNIT.match(joined, stop) would end at
                hits[owner].append(("money", joined[at:unit_end]))
                continue
            run = joined[at:stop]
            if check & _MAYBE_MONEY:
                unit = _MONEY_UNIT.match(joined, stop)
                if unit:
                    hits[owner].append(("money", run + unit.group()))
                    continue
            if check & _MAYBE_IP and _IP.fullmatch(run):
                url, _end = url_at(joined, at)
                hits[owner].append(("url_ip", url))
            elif check & _MAYBE_PHONE:
                # Only the first digits tell the kind; they hold no separator as a rule.
                head = run[:3]
                prefix = head if head.isdecimal() else run.translate(_NUMBER_SEPARATORS)
                hits[owner].append((phone_kind_of_digits(prefix), run))
            elif check & _MAYBE_REP:
                hits[owner].append(("phone_rep", run))
            elif check & _MAYBE_SHORT_CODE and _SHORT_CODE_CUE.search(
                joined, max(at - 30, int(starts[owner])), at
            ):  # look back within this text only: never into its neighbour in the batch
                hits[owner].append(("short_code", run))

    def _scan_marks(
        self, joined: str, starts: Starts, hits: list[list[tuple[str, str]]], tries: list[int]
    ) -> None:
        matches = _matches_from(_BRACKET_OR_CURRENCY, joined, tries)
        for m, owner in zip(matches, _owners(starts, matches), strict=True):
            found = m.group()
            if found[0] in "£$€":
                hits[owner].append(("money", found))
            elif "광" in found:
                hits[owner].append(("ad_marker", found))
            elif "발신" in found:  # not a bracket before digits: "(6*8*)", "(17)"
                hits[owner].append(("foreign_sender", found))

    def _scan_links(
        self, joined: str, starts: Starts, hits: list[list[tuple[str, str]]], tries: list[int]
    ) -> None:
        matches = _matches_from(_LINK_OR_HANDLE, joined, tries)
        url_end = -1
        for m, owner in zip(matches, _owners(starts, matches), strict=True):
            at = m.start()
            first = joined[at]
            if first in ".:":
                if at < url_end:
                    continue
                url, url_end = url_at(joined, at)
                if url:
                    hits[owner].append((url_kind(url), url))
            elif first == "@":
                before = joined[at - 1] if at else " "
                if not (before.isalnum() or before in "._-"):
                    hits[owner].append(("messenger_id", m.group()))
            else:
                found = _MESSENGER_ID.match(joined, at)
                if found:
                    hits[owner].append(("messenger_id", found.group()))

    def _scan_latin(
        self,
        joined: str,
        codes: npt.NDArray[np.uint32],
        starts: Starts,
        hits: list[list[tuple[str, str]]],
        classes: npt.NDArray[np.uint8],
    ) -> None:
        # The trie regex is only tried where a word starts (no ASCII letter or digit
        # before) with the first three letters of some listed word: one numpy look-up
        # instead of letting the engine attempt every Latin letter of the batch.
        if len(codes) < 3:
            return
        # First the word starts (no ASCII letter or digit before) at a character some
        # listed word begins with, then the first three letters of those only.
        kind = classes[:-2]
        start_ok = (kind & _BEGINS_WORD) != 0
        start_ok[1:] &= (kind[:-1] & _ALNUM) == 0
        candidates = np.flatnonzero(start_ok)
        keys = _ascii_key(
            _ascii_at(codes, candidates),
            _ascii_at(codes, candidates + 1),
            _ascii_at(codes, candidates + 2),
        )
        listed = np.take(self._latin_starts, keys)
        candidates, keys = candidates[listed], keys[listed]
        # Then the fourth character of those few positions (0 past the end).
        last = len(codes) - 1
        fourth = np.where(
            candidates + 3 <= last, _ascii_at(codes, np.minimum(candidates + 3, last)), 0
        )
        known = sorted_contains(self._latin_fours, keys.astype(np.int64) * 128 + fourth)
        candidates = candidates[known]
        owners: list[int] = (np.searchsorted(starts, candidates, side="right") - 1).tolist()
        taken_until = -1
        match = self._latin.match
        for at, owner in zip(candidates.tolist(), owners, strict=True):
            if at < taken_until:
                continue
            m = match(joined, at)
            if m:
                taken_until = m.end()
                word = m.group()
                if word == "won" and _AMOUNT_BEFORE.search(joined, max(at - 2, 0), at):
                    continue  # "300,000 won" is money (see _scan_numbers), not a prize
                hits[owner].append((_LATIN_WORDS[word], word))


Starts = npt.NDArray[np.int64]
_T = TypeVar("_T", int, npt.NDArray[np.uint32])


def sorted_contains(
    values: npt.NDArray[np.int64], queries: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """``np.isin(queries, values)`` for ``values`` sorted ascending, by binary search.

    ``np.isin`` sorts the queries together with the values on every call: three times
    slower for the few thousand Latin word candidates of a batch.
    """
    if not len(values):
        return np.zeros(len(queries), dtype=np.bool_)
    at = np.minimum(np.searchsorted(values, queries), len(values) - 1)
    found: npt.NDArray[np.bool_] = values[at] == queries
    return found


def _ascii_key(first: _T, second: _T, third: _T) -> _T:
    """Index of three ASCII characters (code points clamped to 127) in a 128**3 table."""
    return (first * 128 + second) * 128 + third


_ASCII_ALNUM = np.array([chr(c).isalnum() for c in range(128)], dtype=np.bool_)
_BEGINS_WORD, _ALNUM = 4, 8
"""Bits of ``RuleSet._classes``: some listed Latin word begins with the character;
it is an ASCII letter or digit (127 stands for all of non-ASCII)."""


def _starts(parts: list[str]) -> Starts:
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)) + 1
    return np.concatenate(([0], np.cumsum(lengths)[:-1]))


def _digit_runs(
    joined: str, codes: npt.NDArray[np.uint32], kind: npt.NDArray[np.uint8]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Where each run of digits begins and ends (one past it) and how many digits it
    holds. A run is digits with single separators between them (``kind``: the
    :data:`_DIGIT_OR_SEPARATOR` class of each character, U+FFFF standing for the
    planes beyond the BMP, whose digits are checked one by one).

    Two digits are in one run when they are neighbours or one separator apart, so the
    runs come from the digits' positions alone, not from passes over the whole batch.
    """
    digits = np.flatnonzero(kind == _DIGIT)
    wide = np.flatnonzero(codes > 0xFFFF)  # emoji and other rare planes
    if len(wide):
        decimal = [at for at in wide.tolist() if joined[at].isdecimal()]
        if decimal:
            digits = np.union1d(digits, decimal)
    if not len(digits):
        return digits, digits, digits
    gap = np.diff(digits)
    linked = (gap == 1) | ((gap == 2) & (kind[digits[:-1] + 1] == _SEPARATOR))
    firsts = np.flatnonzero(np.concatenate(([True], ~linked)))
    lasts = np.flatnonzero(np.concatenate((~linked, [True])))
    return digits[firsts], digits[lasts] + 1, lasts - firsts + 1


_WON, _EOK, _MAN, _PERCENT = (np.uint32(ord(c)) for c in "원억만%")


def _plain_unit_ends(
    end: npt.NDArray[np.intp],
    after: npt.NDArray[np.uint32],
    then: npt.NDArray[np.uint32],
    money: npt.NDArray[np.bool_],
) -> npt.NDArray[np.intp]:
    """Where ``_MONEY_UNIT.match(joined, end)`` ends for the runs ending at ``end``
    whose unit is plain: ``원``, ``억`` or ``%`` right after the run or after one
    space, or ``만원``; 0 for the others (no money check, or a unit the regex must
    read). ``after``, ``then``: the two characters after each run (0 past the batch)."""
    plain = (after == _WON) | (after == _EOK) | (after == _PERCENT)
    spaced = (then == _WON) & ((after == 32) | (after == _MAN))
    spaced |= (after == 32) & ((then == _EOK) | (then == _PERCENT))
    ends: npt.NDArray[np.intp] = np.where(plain, end + 1, np.where(spaced, end + 2, 0))
    ends[~money] = 0
    return ends


def _bmp_at(codes: npt.NDArray[np.uint32], at: npt.NDArray[np.intp]) -> npt.NDArray[np.uint32]:
    """The code points at positions ``at``, those beyond the BMP as U+FFFF (the last
    entry of the BMP tables): the clamp of a few positions, not of the whole batch."""
    return np.minimum(codes[at], np.uint32(0xFFFF))


def _ascii_at(codes: npt.NDArray[np.uint32], at: npt.NDArray[np.intp]) -> npt.NDArray[np.uint32]:
    """The code points at positions ``at``, non-ASCII ones as 127 (as :func:`_bmp_at`)."""
    return np.minimum(codes[at], np.uint32(127))


def _mark_and_link_starts(
    codes: npt.NDArray[np.uint32], classes: npt.NDArray[np.uint8] | None = None
) -> tuple[list[int], list[int]]:
    """Where a match of ``_BRACKET_OR_CURRENCY`` and of ``_LINK_OR_HANDLE`` can begin
    (``codes``: the batch's code points; ``classes``: their :data:`_CLASSES` bits, if
    looked up already): each alternative's first two characters, checked with two table
    look-ups. A superset of the matches' starts."""
    if len(codes) < 2:
        return [], []
    # A bool array: np.flatnonzero of a uint8 one is several times slower.
    if classes is None:
        at = np.flatnonzero(lookup(_IS_FIRST, codes[:-1]))
    else:
        at = np.flatnonzero((classes[:-1] & np.uint8(_LINK_FIRST)) != 0)
    at = at[_SECOND_OK[lookup(_FIRST_ID, codes[at]), _bmp_at(codes, at + 1)]]
    ids = lookup(_FIRST_ID, codes[at])
    is_mark = ids == _MARK_ID
    marks: list[int] = at[is_mark].tolist()
    links: list[int] = at[~is_mark].tolist()
    return marks, links


def _matches_from(pattern: re.Pattern[str], joined: str, starts: list[int]) -> list[re.Match[str]]:
    """``list(pattern.finditer(joined))`` for a pattern whose matches are never empty
    and can only begin at ``starts`` (ascending): tried there, left to right, each
    after the end of the previous match, as ``finditer`` does."""
    found = []
    match = pattern.match
    taken_until = 0
    for at in starts:
        if at >= taken_until:
            m = match(joined, at)
            if m:
                found.append(m)
                taken_until = m.end()
    return found


def _owners(starts: Starts, matches: list[re.Match[str]]) -> list[int]:
    if not matches:
        return []
    at = np.fromiter((m.start() for m in matches), dtype=np.int64, count=len(matches))
    owners: list[int] = (np.searchsorted(starts, at, side="right") - 1).tolist()
    return owners
