"""Undo the tricks spammers use to slip past keyword filters, before any rule or model.

Korean spam is routinely written as ``대 출``, ``카.지.노``, ``ｂｉｔ．ｌｙ``, ``ㄷㅐㅊㅜㄹ``,
with zero-width spaces or Cyrillic look-alikes inside Latin words. Every function
here maps such a text to the plain spelling a person reads, so that the rules and the
n-gram model see one form. All steps are whole-string C-level passes (``translate``,
``unicodedata``, compiled regexes) so that :func:`normalize_batch` can run them once
over a ``\\x00``-joined batch: no step may create, remove or match across ``SEP``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache, partial
from typing import TypeVar

import numpy as np
import numpy.typing as npt

SEP = "\x00"
"""Batch separator: never produced by normalisation and stripped from inputs."""

_Codes = npt.NDArray[np.uint32] | None
"""A text's code points (one per character) when a step has them at hand, else None."""


def code_points(text: str, errors: str = "strict") -> npt.NDArray[np.uint32]:
    """The code points of ``text``, one per character (``errors="surrogatepass"`` for raw
    input, which may hold lone surrogates), handed between the batch steps."""
    return np.frombuffer(text.encode("utf-32-le", errors), dtype=np.uint32)


_Entry = TypeVar("_Entry", bound=np.generic)


def lookup(table: npt.NDArray[_Entry], codes: npt.NDArray[np.uint32]) -> npt.NDArray[_Entry]:
    """``table[min(code, len(table) - 1)]`` for every code point: the table's last entry
    stands for every code point past it (U+FFFF for the planes beyond the BMP, 127 for
    all of non-ASCII).

    ``np.take`` clamps in its gather (``mode="clip"``), where ``np.minimum`` wrote a
    clamped copy of the whole batch first: a third of a look-up's time, and the batch
    steps make a dozen of them.
    """
    out: npt.NDArray[_Entry] = np.take(table, codes, mode="clip")
    return out


def splice_codes(
    codes: npt.NDArray[np.uint32], spans: list[tuple[int, int]], parts: list[str]
) -> npt.NDArray[np.uint32]:
    """``codes`` with each span ``[start, end)`` (ascending, apart) replaced by the code
    points of the part of the same index: for a step that rewrote a few texts of a
    batch, cheaper than encoding the whole batch again (a few spans only: each is a
    piece to copy)."""
    new = code_points("".join(parts))
    pieces: list[npt.NDArray[np.uint32]] = []
    done = at = 0
    for (start, end), part in zip(spans, parts, strict=True):
        pieces += (codes[done:start], new[at : at + len(part)])
        done, at = end, at + len(part)
    pieces.append(codes[done:])
    return np.concatenate(pieces)


_INVISIBLE = dict.fromkeys(
    [
        0x00AD,  # soft hyphen
        0x034F,  # combining grapheme joiner
        0x180E,  # Mongolian vowel separator
        *range(0x200B, 0x2010),  # zero-width space/non-joiner/joiner, LRM, RLM
        *range(0x202A, 0x202F),  # bidi embeddings and overrides
        *range(0x2060, 0x2065),  # word joiner, invisible operators
        0xFEFF,  # zero-width no-break space / BOM
    ]
)

# Latin look-alikes among lower-case Cyrillic and Greek letters (after str.lower()).
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "һ": "h",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "ӏ": "l",
        "α": "a",
        "β": "b",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
    }
)
_HOMOGLYPH_CHARS = frozenset(chr(c) for c in _HOMOGLYPHS)
# A whole Latin/digit word holding at least one Cyrillic or Greek letter (possessive,
# so a long word without one fails in linear time).
_LOOKALIKE_WORD = re.compile(
    r"(?<![a-z0-9\u0370-\u052f])[a-z0-9]*+[\u0370-\u052f][a-z0-9\u0370-\u052f]*+"
)

# Hangul jamo: choseong, jungseong and jongseong orders of the Unicode syllable formula.
_L = "ᄀᄁᄂᄃᄄᄅᄆᄇᄈᄉᄊᄋᄌᄍᄎᄏᄐᄑᄒ"
_L_COMPAT = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_V_COMPAT = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_T_COMPAT = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"
# A leading consonant that may close the previous syllable: its jongseong index (1-based).
_L_TO_T = {
    lead: _T_COMPAT.index(c) + 1 for lead, c in zip(_L, _L_COMPAT, strict=True) if c in _T_COMPAT
}
_TO_COMPAT = str.maketrans(
    {
        **{chr(0x1100 + i): c for i, c in enumerate(_L_COMPAT)},
        **{chr(0x1161 + i): c for i, c in enumerate(_V_COMPAT)},
        **{chr(0x11A8 + i): c for i, c in enumerate(_T_COMPAT)},
    }
)
_COMPAT_OF_JAMO = np.arange(0x1100, 0x1200, dtype=np.uint32)
for _jamo, _compat in _TO_COMPAT.items():
    _COMPAT_OF_JAMO[_jamo - 0x1100] = ord(str(_compat))
_LATIN_R = np.uint32(ord("r"))
_FILLER_EU, _FILLER_I = np.uint32(ord("ㅡ")), np.uint32(ord("ㅣ"))
_TAIL_OF_LEAD = np.zeros(0x100, dtype=np.uint32)
for _lead, _tail in _L_TO_T.items():
    _TAIL_OF_LEAD[ord(_lead) - 0x1100] = _tail
# NFKC already composes choseong+jungseong; what is left is a final consonant written
# as a leading one (ㄷㅐㅊㅜㄹ -> 대추ᄅ), which closes the open syllable before it.

# Also lone surrogates ("\\ud83d" is valid JSON): invisible, and the numpy passes need
# text that encodes to UTF-32.
_INVISIBLE_RE = re.compile("[" + "".join(map(chr, _INVISIBLE)) + "\ud800-\udfff]")

# Classes of code points for :func:`_nfkc_lower` (bit flags; the last index stands for
# every code point outside the Basic Multilingual Plane).
_DROP = 1  # invisible or a lone surrogate: removed first
_UNSTABLE = 2  # NFKC may change it or join it to the character before it, or it
# lower-cases to more than one character: normalised by unicodedata, not the tables
_SIGMA = 4  # capital sigma, whose lower case depends on the letters around it
_OUTSIDE_BMP = 0x10000
_UNCASED_STABLE_BLOCKS = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xAC00, 0xD7A4))
"""CJK ideographs and Hangul syllables: no case, no decomposition, never combined."""

# Digits disguised as letters inside something shaped like a phone number ("O1O-l234").
_PHONEISH = re.compile(r"[0-9oil|][0-9oil|]{1,3}[-. ]?[0-9oil|]{3,4}[-. ]?[0-9oil|]{4}(?![a-z])")
_DIGIT_LOOKALIKES = str.maketrans({"o": "0", "i": "1", "l": "1", "|": "1"})

# "bit[.]ly", "naver(dot)com", "han . gl" -> real dots, so URL rules see the host.
_DOT_WORD = re.compile(r"[\[({](?:\.|dot)[\]})]")
_TLD = (
    r"(?:com|net|org|kr|ly|gl|do|la|me|to|io|co|xyz|top|site|shop|info|biz|cc|gd|us|link|app"
    r"|vip|bet|win|club|live|pro|fun|cyou|sbs|cfd|icu|buzz|online|store|kim|game|games)"
)
# A dot before a TLD; spaces around it (at least one) are then dropped by Python. The
# pattern starts at the dot, so the engine skips the (many) other spaces in C.
_DOT_BEFORE_TLD = re.compile(r"\.( *)(?=" + _TLD + r"\b)")

_HANGUL_SEPS = r"[ .,·•‧∙ㆍ/\\|\-_~*+=^'\"`:;!?#@$%&♡♥★☆◆◇■□●○※]"
_SPACED_HANGUL = re.compile(r"[가-힣](?:" + _HANGUL_SEPS + r"+[가-힣](?![가-힣]))+")
_SPACED_LATIN = re.compile(r"[a-z](?:[ .\-_*]{1,2}[a-z](?![a-z0-9])){3,}")
_NON_SPACE_SEP = re.compile(r"[^ 가-힣]")
_LOWER_LETTER, _DECIMAL_DIGIT = 2, 1
_LOWER_ALNUM = np.array(
    [
        _LOWER_LETTER if 97 <= c <= 122 else _DECIMAL_DIGIT if 48 <= c <= 57 else 0
        for c in range(128)
    ],
    dtype=np.uint8,
)
_LETTER_SEPARATOR = np.array([chr(c) in " .-_*" for c in range(128)], dtype=np.bool_)

_REPEAT_CLASS = "!?.,~^*=+-_♡♥★☆ㅋㅎㅠㅜ"
_REPEATS = re.compile("([" + re.escape(_REPEAT_CLASS) + r"])\1{2,}")
_REPEAT_CODES = np.array(sorted(map(ord, _REPEAT_CLASS)), dtype=np.uint32)
_OTHER_BLANKS = re.compile(r"[\t\r\f\v]")
_SPACES = re.compile(r"  +")
# Bits of an ASCII character for _fix_phones_and_repeats (127 stands for any other):
# _LOOKALIKE is _DIGIT shifted left once, so a digit next to a look-alike is one test.
# _BLANK is what _squeeze_blanks turns into a space and squeezes, _NEWLINE what it
# takes the spaces around away from.
_DIGIT, _LOOKALIKE, _BLANK, _NEWLINE = 1, 2, 4, 8
_PHONE_AND_BLANK = np.array(
    [
        (_DIGIT if "0" <= chr(c) <= "9" else 0)
        | (_LOOKALIKE if chr(c) in "oil|" else 0)
        | (_BLANK if chr(c) in " \t\r\f\v" else 0)
        | (_NEWLINE if c == 10 else 0)
        for c in range(128)
    ],
    dtype=np.uint8,
)

# compact() keeps letters, digits and SEP of the BMP; everything else is a separator
# (the last entry stands for every code point outside the BMP).
_KEEP = np.array([chr(c).isalnum() for c in range(0x10000)] + [False], dtype=np.bool_)
_KEEP[0] = True
COMPACT_KEEPS = _KEEP
"""Which code points :func:`compact` keeps (``SEP`` and letters or digits), the BMP's
then one last entry for the planes beyond it, read with :func:`lookup`."""


def _latinise_word(m: re.Match[str]) -> str:
    word = m.group(0)
    has_latin = any("a" <= c <= "z" for c in word)
    if has_latin or all(c in _HOMOGLYPH_CHARS or c.isdigit() for c in word):
        return word.translate(_HOMOGLYPHS)
    return word


def _phone_digits(m: re.Match[str]) -> str:
    found = m.group(0)
    at = m.start()
    if at and ("a" <= m.string[at - 1] <= "z" or "가" <= m.string[at - 1] <= "힣"):
        return found
    if sum(c.isdigit() for c in found) < 6:
        return found
    return found.translate(_DIGIT_LOOKALIKES)


def _join_spaced_hangul(m: re.Match[str]) -> str:
    found = m.group(0)
    at = m.start()
    if at and "가" <= m.string[at - 1] <= "힣":  # the match starts inside a word
        return found
    syllables = [c for c in found if "가" <= c <= "힣"]
    if len(syllables) >= 3 or _NON_SPACE_SEP.search(found):
        return "".join(syllables)
    return found


def _join_spaced_latin(m: re.Match[str]) -> str:
    at = m.start()
    if at and m.string[at - 1].isascii() and m.string[at - 1].isalnum():
        return m.group(0)
    return "".join(c for c in m.group(0) if "a" <= c <= "z")


def _twice(m: re.Match[str]) -> str:
    """``!!!!!`` -> ``!!`` (a function: a ``\\1\\1`` template is expanded in Python)."""
    return m.group(1) * 2


def _fix_phones_and_repeats(text: str) -> str:
    return _fix_phones_and_repeats_with_codes(text)[0]


def _fix_phones_and_repeats_with_codes(
    text: str, given: _Codes = None
) -> tuple[str, npt.NDArray[np.uint32]]:
    """Rewrite ``O1O-l234-5678``, shorten ``!!!!!`` and squeeze blanks, in one numpy pass.

    The phone regex runs only on the texts where a digit touches an o/i/l/| (over a
    whole batch of English it would test every o, i and l). The other two fixes are
    decided from the codes for the whole batch at once: a repeat-class character that
    follows two of its own goes (what :data:`_REPEATS` does), and so does every blank
    of a run but the first, and a whole run next to a newline, while a tab or other odd
    blank left standing becomes a space (what :func:`_squeeze_blanks` does). Rewriting
    phone look-alikes changes neither lengths nor repeat-class characters or blanks,
    and no fix makes or parts two blanks, so all three come from the same codes.
    ``given``: the code points of ``text`` when the caller has them; the result's are
    returned with it.
    """
    codes = code_points(text) if given is None else given
    if len(codes) < 3:
        text = _squeeze_blanks(_REPEATS.sub(_twice, _PHONEISH.sub(_phone_digits, text)))
        return text, code_points(text)
    # One look-up gives every character its bits; neighbours are then combined byte-wise
    # (and tested as bools: np.flatnonzero of a bool array is several times faster than
    # of a uint8 one).
    kind = lookup(_PHONE_AND_BLANK, codes)
    before, after = kind[:-1], kind[1:]
    touching = np.flatnonzero((((before & (after >> 1)) | ((before >> 1) & after)) & _DIGIT) != 0)
    same = codes[:-2] == codes[1:-1]
    same &= codes[1:-1] == codes[2:]
    tripled = np.flatnonzero(same)
    tripled = tripled[np.isin(codes[tripled], _REPEAT_CODES)] + 2  # the third and later
    blank = (kind & _BLANK) != 0
    newline = (kind & _NEWLINE) != 0
    firsts = np.flatnonzero(blank[1:] & ~blank[:-1]) + 1
    if blank[0]:
        firsts = np.concatenate(([0], firsts))
    if newline.any():  # runs next to a newline go whole: their first blank too
        ends = np.flatnonzero(blank[:-1] & ~blank[1:]) + 1
        if blank[-1]:
            ends = np.append(ends, len(codes))
        after_end = np.append(newline, False)[ends]
        firsts = firsts[~((firsts > 0) & newline[firsts - 1]) & ~after_end]
    odd = firsts[codes[firsts] != 32]  # a tab, CR, FF or VT that stays, as a space
    if not (len(touching) or len(tripled) or len(odd)) and len(firsts) == blank.sum():
        return text, codes  # every blank stays as it is
    if len(touching):
        text, codes = _fix_phones(text, codes, touching)
    kept = ~blank
    kept[firsts] = True
    kept[tripled] = False
    out: npt.NDArray[np.uint32] = codes[kept]
    if len(odd):
        out[np.cumsum(kept)[odd] - 1] = 32
    return out.tobytes().decode("utf-32-le"), out


def _fix_phones(
    text: str, codes: npt.NDArray[np.uint32], touching: npt.NDArray[np.intp]
) -> tuple[str, npt.NDArray[np.uint32]]:
    """``_PHONEISH.sub(_phone_digits, t)`` for each text ``t`` with a position in
    ``touching``, and the result's code points.

    A digit next to an o, i or l is common ("10 lines"), a phone number written with
    them is not: of some 180 texts a batch holds with one, about one changes.
    """
    return _rewrite_texts(text, codes, touching, partial(_PHONEISH.sub, _phone_digits))


def _rewrite_texts(
    text: str,
    codes: npt.NDArray[np.uint32],
    positions: npt.NDArray[np.intp],
    rewrite: Callable[[str], str],
) -> tuple[str, npt.NDArray[np.uint32]]:
    """``rewrite`` each ``SEP``-joined text of ``text`` (code points ``codes``) that
    holds one of ``positions``; returns the batch and its code points.

    Only the texts that ``rewrite`` changes are put back, and their code points are
    spliced in (:func:`splice_codes`): the batch is neither joined nor encoded again
    for the many texts a numpy pre-check sends here in vain.
    """
    seps = np.flatnonzero(codes == 0)
    bounds = np.concatenate(([-1], seps, [len(codes)]))
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    done = 0
    for part in np.unique(np.searchsorted(seps, positions)).tolist():
        start, end = int(bounds[part]) + 1, int(bounds[part + 1])
        old = text[start:end]
        new = rewrite(old)
        if new != old:
            pieces += (text[done:start], new)
            spans.append((start, end))
            done = end
    if not spans:
        return text, codes
    pieces.append(text[done:])
    return "".join(pieces), splice_codes(codes, spans, pieces[1::2])


@cache
def _front_tables() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint32]]:
    """(class flags, simple lower case) per code point, for :func:`_nfkc_lower`.

    A code point is *stable* when NFKC leaves it alone, it has combining class 0 and
    it cannot join the character before it. The characters that can are the Hangul
    vowel and final jamo (flagged by range) and the second halves of canonical pairs,
    which are all marks (general category M, flagged whole: a few too many is only
    slower). A string splits before every stable code point into parts that NFKC
    normalises independently (UAX #15, "boundary before"), so only the parts holding
    something unstable need :func:`unicodedata.normalize`. Built on first use (about
    ten milliseconds), once per process.
    """
    flags = np.zeros(_OUTSIDE_BMP + 1, dtype=np.uint8)
    lower = np.arange(_OUTSIDE_BMP + 1, dtype=np.uint32)
    is_normal, combining, category = (
        unicodedata.is_normalized,
        unicodedata.combining,
        unicodedata.category,
    )
    plain = np.ones(_OUTSIDE_BMP, dtype=np.bool_)
    for start, stop in _UNCASED_STABLE_BLOCKS:
        plain[start:stop] = False
    for code in np.flatnonzero(plain).tolist():
        char = chr(code)
        low = char.lower()
        if len(low) == 1:
            lower[code] = ord(low)
        if (
            len(low) != 1
            or not is_normal("NFKC", char)
            or combining(char)
            or category(char)[0] == "M"
        ):
            flags[code] |= _UNSTABLE
    flags[0x1160:0x1200] |= _UNSTABLE  # Hangul vowel and final jamo
    flags[0xD800:0xE000] |= _DROP | _UNSTABLE
    flags[list(_INVISIBLE)] |= _DROP
    flags[_OUTSIDE_BMP] = _UNSTABLE
    flags[ord("Σ")] |= _SIGMA
    return flags, lower


def nfkc_flags_table() -> npt.NDArray[np.uint8]:
    """The NFKC step's flags per code point (bits 1, 2 and 4; the last entry for the
    planes beyond the BMP), for a caller that folds its own bits into the same look-up
    of a batch (:func:`blocking.disguise.raw_classes`) and hands the result to
    :func:`normalize_joined_with_codes`."""
    return _front_tables()[0]


def _nfkc_lower(text: str, codes: npt.NDArray[np.uint32] | None = None) -> str:
    """``NFKC(text).lower()`` per ``SEP``-joined text, with invisible characters removed
    (:func:`_nfkc_lower_codes` as text)."""
    found, found_codes = _nfkc_lower_codes(text, codes)
    return found if found is not None else found_codes.tobytes().decode("utf-32-le")


def _nfkc_lower_codes(
    text: str,
    codes: npt.NDArray[np.uint32] | None = None,
    flags: npt.NDArray[np.uint8] | None = None,
) -> tuple[str | None, npt.NDArray[np.uint32]]:
    """The code points of :func:`_nfkc_lower` ``(text)``, and its text when at hand.

    Most of a batch is stable (see :func:`_front_tables`): those code points are only
    lower-cased, through a table, and NFKC runs on the short stretches around the
    others (a compatibility jamo, a full-width letter, an emoji), each with the
    stable character before it. Normalising whole texts instead would decompose and
    recompose every Hangul syllable of every text holding one ``ㅋ``. The result is
    put together from code points (the stretches' own are cached with them), as the
    next step (:func:`_fold_letters_with_codes`) reads code points and decodes its
    own result: building the text here too cost a decoding and an encoding of the
    batch. ``codes``: the code points of ``text`` when the caller has them
    (``encode("utf-32-le", "surrogatepass")``), and ``flags``: their look-up in a table
    holding :func:`nfkc_flags_table`'s bits (other bits are ignored).
    """
    flags_of, lower_of = _front_tables()
    if codes is None:
        codes = code_points(text, "surrogatepass")
    if flags is None:
        flags = lookup(flags_of, codes)
    if (flags & _SIGMA).any():  # final sigma: lower() needs the whole text around it
        return _with_codes(_nfkc_lower_slowly(text))
    if (flags & _DROP).any():
        kept = (flags & _DROP) == 0
        codes, flags = codes[kept], flags[kept]
        text = codes.tobytes().decode("utf-32-le")
    lowered = lookup(lower_of, codes)
    unstable = np.flatnonzero((flags & _UNSTABLE) != 0)  # bool: nonzero's fast path
    if not len(unstable):
        return None, lowered
    gaps = np.flatnonzero(np.diff(unstable) > 1)
    firsts = np.concatenate((unstable[:1], unstable[gaps + 1]))
    ends = np.concatenate((unstable[gaps] + 1, unstable[-1:] + 1))
    firsts -= (firsts > 0) & (codes[firsts - 1] != 0)  # with the stable character before
    # A stretch that begins where the previous one ends (" ㅋㅋ ㅠㅠ") joins it.
    apart = np.flatnonzero(firsts[1:] > ends[:-1])
    firsts, ends = firsts[np.r_[0, apart + 1]], ends[np.r_[apart, len(ends) - 1]]
    nfkc, known = unicodedata.normalize, _NFKC_LOWER
    pieces: list[npt.NDArray[np.uint32]] = []
    done = 0
    for first, end in zip(firsts.tolist(), ends.tolist(), strict=True):
        part = text[first:end]
        fixed = known.get(part)
        if fixed is None:
            normal = nfkc("NFKC", part)
            if "Σ" in normal:
                return _with_codes(_nfkc_lower_slowly(text))
            if len(known) >= _NFKC_LOWER_SIZE:
                known.clear()
            fixed = known[part] = code_points(normal.lower())
        pieces += (lowered[done:first], fixed)
        done = end
    pieces.append(lowered[done:])
    return None, np.concatenate(pieces)


def _with_codes(text: str) -> tuple[str, npt.NDArray[np.uint32]]:
    return text, code_points(text)


_NFKC_LOWER: dict[str, npt.NDArray[np.uint32]] = {}
"""Stretches already normalised, as code points (" ㅋㅋ", " ㅠㅠ" and a few others make
most of them)."""
_NFKC_LOWER_SIZE = 20_000


def _nfkc_lower_slowly(text: str) -> str:
    nfkc = unicodedata.normalize
    return SEP.join([nfkc("NFKC", t) for t in _INVISIBLE_RE.sub("", text).split(SEP)]).lower()


def _fold_jamo(codes: npt.NDArray[np.uint32], jamo: npt.NDArray[np.intp]) -> npt.NDArray[np.uint32]:
    """The jamo steps of :func:`_fold_letters`, on the (few) jamo positions only."""
    codes = np.append(codes, np.uint32(0))  # a copy, with a stop after the last text
    is_lead = (codes[jamo] - np.uint32(0x1100)) <= 0x12
    leads = jamo[is_lead]
    with_r = codes[leads + 1] == _LATIN_R
    if with_r.any():
        return _fold_jamo_with_latin_r(codes[:-1], jamo, np.flatnonzero(is_lead)[with_r])
    leads = leads[leads > 0]
    syllable = codes[leads - 1] - np.uint32(0xAC00)
    tail = _TAIL_OF_LEAD[codes[leads] - np.uint32(0x1100)]
    vowel_next = (codes[leads + 1] - np.uint32(0x1161)) <= 0x14
    closes = (syllable < 11172) & (syllable % 28 == 0) & (tail > 0) & ~vowel_next
    merged = leads[closes]
    codes[merged - 1] += tail[closes]
    codes[jamo] = _COMPAT_OF_JAMO[codes[jamo] - np.uint32(0x1100)]
    # "대ㅡ출", "대ㅣ출": a lone vowel stroke between two syllables is filler. (A merged
    # consonant never stands right before one: it merges only when no vowel follows.)
    strokes = jamo[(codes[jamo] == _FILLER_EU) | (codes[jamo] == _FILLER_I)]
    strokes = strokes[strokes > 0]
    around = (codes[strokes - 1] - np.uint32(0xAC00) < 11172) & (
        codes[strokes + 1] - np.uint32(0xAC00) < 11172
    )
    dropped = np.concatenate((merged, strokes[around]))
    return np.delete(codes[:-1], dropped) if len(dropped) else codes[:-1]


def _fold_jamo_with_latin_r(
    codes: npt.NDArray[np.uint32], jamo: npt.NDArray[np.intp], read: npt.NDArray[np.intp]
) -> npt.NDArray[np.uint32]:
    """:func:`_fold_jamo` when some consonant is followed by a Latin r ("ㅋr지노"):
    the r is read as ㅏ first, then the same steps run on the other jamo. ``jamo``: the
    jamo positions; ``read``: the indices in ``jamo`` of the consonants before an r.

    An r is no jamo, and the syllable made of the consonant before it is none either,
    so the other jamo only move left by the number of r's dropped before them (and no
    consonant left has an r after it: the r's were all read)."""
    with_r = jamo[read]
    codes = codes.copy()
    codes[with_r] = 0xAC00 + (codes[with_r] - np.uint32(0x1100)) * 588
    codes = np.delete(codes, with_r + 1)
    rest = np.delete(jamo, read)
    return _fold_jamo(codes, rest - np.searchsorted(with_r + 1, rest))


def _fold_letters(text: str) -> str:
    return _fold_letters_with_codes(text, code_points(text))[0]


def _fold_letters_with_codes(
    text: str | None, codes: npt.NDArray[np.uint32]
) -> tuple[str, npt.NDArray[np.uint32]]:
    """Recompose spelled-out jamo and latinise look-alike words, in one numpy pass.

    NFKC turns every compatibility jamo (the ㅋㅋ, ㅠㅠ of ordinary texts) into a
    conjoining one, so nearly every batch has jamo; a dict-based ``str.translate`` of
    the batch would cost a dict look-up per character. Here a leading consonant that
    closes an open syllable (``대추ᄅ`` -> ``대출``) is merged, the other conjoining jamo
    map back through a table, and only the texts that hold a Cyrillic or Greek letter
    (rare) are handed to the word-level regex. Given the code points of the text (and
    the text itself when the caller has it), returns the text and its code points.
    """
    jamo = np.flatnonzero((codes - np.uint32(0x1100)) < 0x100)  # wraps around below U+1100
    if len(jamo):
        codes = _fold_jamo(codes, jamo)
    if len(jamo) or text is None:
        text = codes.tobytes().decode("utf-32-le")
    lookalikes = np.flatnonzero((codes - np.uint32(0x370)) < 0x1C0)
    if not len(lookalikes):
        return text, codes
    return _rewrite_texts(text, codes, lookalikes, partial(_LOOKALIKE_WORD.sub, _latinise_word))


def _undo_dot_words(text: str) -> str:
    """``bit[.]ly``, ``naver(dot)com`` -> ``bit.ly``, ``naver.com``.

    Every match ends with a closing bracket right after ``.`` or ``dot``. Closing
    brackets are rare enough to visit one by one (a single-character find is the
    fastest scan there is), and the regex runs over the batch only if one of them
    really closes a dot word.
    """
    for closing in "])}":
        at = text.find(closing)
        while at >= 0:
            before = text[at - 1 : at]
            if (before == "." and _DOT_WORD.match(text, at - 2)) or (
                before == "t" and _DOT_WORD.match(text, at - 4)
            ):
                return _DOT_WORD.sub(".", text)
            at = text.find(closing, at + 1)
    return text


def _join_spaced_dots(text: str) -> str:
    """``bit . ly`` and ``naver. com`` -> ``bit.ly``, ``naver.com``."""
    pieces: list[str] = []
    done = 0
    for m in _DOT_BEFORE_TLD.finditer(text):
        at = lead = m.start()
        while lead > done and text[lead - 1] == " ":
            lead -= 1
        if lead < at or m.group(1):
            pieces += (text[done:lead], ".")
            done = m.end()
    return "".join(pieces) + text[done:] if pieces else text


def _join_spaced_latin_words(text: str, given: _Codes = None) -> str:
    """``c a s i n o`` -> ``casino`` in the texts of a batch that have such a chain.

    Latin vocabulary is matched on this (not the compact) form, so the joining has to
    happen here; the regex tries every Latin letter, so it only runs on texts where
    numpy finds four single letters (no ASCII letter or digit either side) each one or
    two separators apart, which every match needs.
    """
    codes = code_points(text) if given is None else given
    if len(codes) < 7:
        return text
    kind = lookup(_LOWER_ALNUM, codes)
    alnum = kind != 0
    single = kind == _LOWER_LETTER
    single[1:] &= ~alnum[:-1]
    single[:-1] &= ~alnum[1:]
    places = np.flatnonzero(single)
    if len(places) < 4:
        return text
    gap = np.diff(places)
    after = lookup(_LETTER_SEPARATOR, codes[places[:-1] + 1])
    then = lookup(_LETTER_SEPARATOR, codes[np.minimum(places[:-1] + 2, len(codes) - 1)])
    linked = after & ((gap == 2) | ((gap == 3) & then))
    chains = np.flatnonzero(linked[:-2] & linked[1:-1] & linked[2:])
    if not len(chains):
        return text
    seps = np.flatnonzero(codes == 0)
    parts = text.split(SEP)
    for i in set(np.searchsorted(seps, places[chains]).tolist()):
        parts[i] = _SPACED_LATIN.sub(_join_spaced_latin, parts[i])
    return SEP.join(parts)


MASKS = "?*■□▣♣♧♠♤◆◇●○◎★☆♥♡※#^"
"""Characters spammers pad Latin words and addresses with (``T?el?egram``, ``na*ver``,
``b■et``); NFKC has already turned the full-width forms (``？``, ``＊``) into these."""
_MASK_RUN = re.compile("(?<=[a-z0-9])[" + re.escape(MASKS) + "]+(?=[a-z0-9])")
"""A run of masks between two Latin letters or digits: what :func:`unmask_words`
removes (the reference; the hot path finds the same runs with numpy)."""
_MASK, _STAND_IN_CHAR, _LATIN_ALNUM = 1, 2, 4
_UNMASK_KIND = np.zeros(0x10000, dtype=np.uint8)
"""Per code point of the BMP (the last entry also stands for every one beyond it): a
mask character, a stand-in for a dot, a Latin letter or digit (what ``[a-z0-9]`` reads)."""
_UNMASK_KIND[[ord(c) for c in MASKS]] |= _MASK
_UNMASK_KIND[[ord(c) for c in "。｡ㆍᆞ·•‧∙닷컴"]] |= _STAND_IN_CHAR
_UNMASK_KIND[[ord(c) for c in "abcdefghijklmnopqrstuvwxyz0123456789"]] |= _LATIN_ALNUM
# A stand-in for the dot before a top-level domain ("abc ㆍcom", "abc닷컴"), matched only
# at the stand-in characters _UNMASK_KIND finds; the letter or digit before it (and one
# optional space) is checked in Python on the few matches. (The two alternatives after
# 닷 exclude each other: a Latin TLD or 컴, 넷, 케이알.) "컴" spelled for "com"
# ("ga-lu.컴", "tj-825 쩜 컴", "rama4444컴"), only at a word's end: its match starts at
# the "." or "쩜" before it when there is one (see :func:`_dots_for_stand_ins`).
_STAND_IN = re.compile(
    r"[。｡ㆍᆞ·•‧∙닷](?:(?<=닷)(?:컴|넷|케이알)| ?(?=" + _TLD + r"(?![a-z])))"
    r"|[.쩜] ?컴(?![가-힣])|(?<=[a-z0-9])컴(?![가-힣])"
)
_KOREAN_TLDS = {"닷컴": ".com", "닷넷": ".net", "닷케이알": ".kr"}


def _is_latin_alnum(ch: str) -> bool:
    return "a" <= ch <= "z" or "0" <= ch <= "9"


def unmask_words(text: str) -> str:
    """``t?el?egram`` -> ``telegram``, ``na*ver.c■om`` -> ``naver.com``, ``abc ㆍcom`` and
    ``abc닷컴`` -> ``abc.com``: padding between two Latin letters or digits goes, and a
    stand-in for the dot before a top-level domain becomes a dot.

    One table look-up per character finds the mask characters, the stand-ins and the
    Latin letters and digits; the runs of masks to drop (:data:`_MASK_RUN`) are then
    found with numpy, and the stand-in pattern is only tried at stand-in characters.
    ``?`` at the end of a question stays.
    """
    return _unmask_words_with_codes(text)[0]


def _unmask_words_with_codes(text: str, codes: _Codes = None) -> tuple[str, _Codes]:
    """:func:`unmask_words` given the code points of ``text`` when the caller has them,
    and returning them too when nothing changed."""
    if codes is None:
        codes = code_points(text)
    kind = lookup(_UNMASK_KIND, codes)
    stand_in = (kind & _STAND_IN_CHAR) != 0
    stand_ins = np.flatnonzero(stand_in) if stand_in.any() else None
    found = text
    if (kind & _MASK).any():
        text, stand_ins = _drop_mask_runs(kind, text, stand_ins)
    if stand_ins is not None:
        text = _dots_for_stand_ins(text, stand_ins.tolist())
    return (text, codes) if text is found else (text, None)


def _drop_mask_runs(
    kind: npt.NDArray[np.uint8], text: str, stand_ins: npt.NDArray[np.intp] | None
) -> tuple[str, npt.NDArray[np.intp] | None]:
    """``_MASK_RUN.sub("", text)`` given the :data:`_UNMASK_KIND` of each character, and
    where the stand-ins at ``stand_ins`` are afterwards (no run holds one).

    The regex's matches are the maximal runs of mask characters with a Latin letter or
    digit right before and right after (the run is never preceded or followed by a
    mask, so its look-arounds see exactly the run's neighbours)."""
    masks = np.flatnonzero((kind & _MASK) != 0)  # bool: nonzero's fast path
    firsts = np.flatnonzero(np.diff(masks, prepend=-2) > 1)
    begin = masks[firsts]
    end = masks[np.append(firsts[1:], len(masks)) - 1] + 1
    inside = (begin > 0) & (end < len(kind))
    begin, end = begin[inside], end[inside]
    padding = (kind[begin - 1] & kind[end] & _LATIN_ALNUM) != 0
    if not padding.any():
        return text, stand_ins
    begin, end = begin[padding], end[padding]
    if stand_ins is not None:
        dropped = np.concatenate(([0], np.cumsum(end - begin)))
        stand_ins = stand_ins - dropped[np.searchsorted(end, stand_ins, side="right")]
    pieces: list[str] = []
    done = 0
    for first, stop in zip(begin.tolist(), end.tolist(), strict=True):
        pieces.append(text[done:first])
        done = stop
    pieces.append(text[done:])
    return "".join(pieces), stand_ins


def _dots_for_stand_ins(text: str, places: list[int]) -> str:
    """The dots for the stand-ins at ``places`` (every stand-in character of ``text``, in
    order): what replacing the matches of ``_STAND_IN.finditer(text)`` gives, without
    the regex engine testing every character for one (a match holds one stand-in)."""
    pieces: list[str] = []
    done = scanned = 0  # scanned: where finditer would look for the next match
    match = _STAND_IN.match
    for at in places:
        if at < scanned:  # inside the last match ("닷컴")
            continue
        m = None
        if text[at] == "컴":  # "[.쩜] ?컴" starts before it, and finditer tries that first
            start = at - 2 if at >= 2 and text[at - 1] == " " else at - 1
            if start >= scanned and text[start] in ".쩜":
                m = match(text, start)
        if m is None:
            m = match(text, at)
        if m is None:
            continue
        scanned = m.end()
        lead = m.start()
        if lead > done and text[lead - 1] == " ":
            lead -= 1
        if lead > done and _is_latin_alnum(text[lead - 1]):
            found = m.group()
            tld = ".com" if found[-1] == "컴" else _KOREAN_TLDS.get(found, ".")
            pieces += (text[done:lead], tld)
            done = m.end()
    return "".join(pieces) + text[done:] if pieces else text


def _squeeze_blanks(text: str) -> str:
    if "\t" in text or "\r" in text or "\f" in text or "\v" in text:
        text = _OTHER_BLANKS.sub(" ", text)
    if "  " in text:
        text = _SPACES.sub(" ", text)
    if "\n" in text:
        text = text.replace(" \n", "\n").replace("\n ", "\n")
    return text


def normalize_joined(text: str, codes: _Codes = None) -> str:
    """Normalise a text, or many texts joined with :data:`SEP`, in whole-string passes.

    This is the filter's hot path, so every regex starts with a literal or a character
    class (the engine then skips non-candidate positions in C) and rare obfuscations are
    gated by a cheap search. Separators inserted between letters (``대 출``, ``카.지.노``)
    are left in place here: the vocabulary rules and the model read :func:`compact`,
    which deletes them anyway; :func:`normalize` joins them for display. ``codes``:
    the code points of ``text`` when the caller has them (``encode("utf-32-le",
    "surrogatepass")``), saving the first step an encoding.
    """
    return normalize_joined_with_codes(text, codes)[0]


def normalize_joined_with_codes(
    text: str, codes: _Codes = None, flags: npt.NDArray[np.uint8] | None = None
) -> tuple[str, npt.NDArray[np.uint32]]:
    """:func:`normalize_joined` and the code points of the result: each step hands the
    next the code points it has (the string steps keep them when they change nothing),
    instead of the next encoding the text again. ``flags``: the NFKC step's flags of
    ``codes`` when the caller has looked them up (see :func:`nfkc_flags_table`)."""
    joined, found = normalize_joined_with_codes_if_at_hand(text, codes, flags)
    return joined, code_points(joined) if found is None else found


def normalize_joined_with_codes_if_at_hand(
    text: str, codes: _Codes = None, flags: npt.NDArray[np.uint8] | None = None
) -> tuple[str, npt.NDArray[np.uint32] | None]:
    """:func:`normalize_joined_with_codes`, with ``None`` for the code points when the
    last step rewrote the text: a caller that changes the text again (the strip in
    :func:`blocking.pipeline.analyse`) then encodes it once, after its own change."""
    text, codes = _unmask_words_with_codes(
        *_fold_letters_with_codes(*_nfkc_lower_codes(text, codes, flags))
    )
    before = text
    text = _join_spaced_dots(_undo_dot_words(text))
    text, codes = _fix_phones_and_repeats_with_codes(text, codes if text is before else None)
    joined = _join_spaced_latin_words(text, codes)
    return (joined, codes) if joined is text else (joined, None)


def join_spaced_letters(text: str) -> str:
    """``대 출 가 능`` -> ``대출가능``, ``카.지.노`` -> ``카지노``, ``c a s i n o`` -> ``casino``.

    Two single syllables joined by a symbol, or three or more by spaces, are one word
    written apart to dodge filters; "차 좀" (two words) is left alone.
    """
    text = _SPACED_HANGUL.sub(_join_spaced_hangul, text)
    return _SPACED_LATIN.sub(_join_spaced_latin, text)


def normalize(text: str) -> str:
    """The plain reading of one text: NFKC, no invisibles, joined letters, real digits."""
    return join_spaced_letters(normalize_joined(text.replace(SEP, ""))).strip()


def normalize_batch(texts: list[str]) -> list[str]:
    """Normalise many texts (hot-path form) with one pass per step over their joined form."""
    if not texts:
        return []
    joined = SEP.join(t.replace(SEP, "") for t in texts)
    return [t.strip() for t in normalize_joined(joined).split(SEP)]


_STRIPPED = np.array([chr(c).isspace() for c in range(0x10000)], dtype=np.bool_)
"""What ``str.strip()`` removes, per code point of the BMP (none lies beyond it)."""


def ends_in_blanks(codes: npt.NDArray[np.uint32]) -> bool:
    """Whether some ``SEP``-joined text of ``codes`` begins or ends with a character
    ``str.strip()`` removes: only the characters next to a separator or at either end
    are read."""
    if not len(codes):
        return False
    seps = np.flatnonzero(codes == 0)
    edges = np.concatenate(([0, len(codes) - 1], seps - 1, seps + 1))
    edges = edges[(edges >= 0) & (edges < len(codes))]
    return bool(lookup(_STRIPPED, codes[edges]).any())


def compact_codes(text: str) -> npt.NDArray[np.uint32]:
    """Code points of :func:`compact` ``(text)``, computed with one numpy look-up."""
    return compact_of_codes(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32))


def compact_of_codes(codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """:func:`compact_codes` of a text already given as code points."""
    return codes[lookup(_KEEP, codes)]


def compact(text: str) -> str:
    """Drop every space and symbol (keeping ``SEP``): ``대 출`` and ``대~출`` both read 대출.

    Keyword rules for Hangul vocabulary run on this form; it is never shown to anyone.
    """
    return compact_codes(text).tobytes().decode("utf-32-le")
