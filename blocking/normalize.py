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

import numpy as np
import numpy.typing as npt

SEP = "\x00"
"""Batch separator: never produced by normalisation and stripped from inputs."""

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
_CYR_GREEK = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0500-\u052f]")
_MIXED_WORD = re.compile(r"[a-z0-9\u0370-\u03ff\u0400-\u04ff\u0500-\u052f]+")

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
_CONJOINING = re.compile(r"[\u1100-\u11ff]")
# NFKC already composes choseong+jungseong; what is left is a final consonant written
# as a leading one (ㄷㅐㅊㅜㄹ -> 대추ᄅ), which closes the syllable before it.
_OPEN_SYLLABLE_THEN_L = re.compile(r"([가-힣])([\u1100-\u1112])(?![\u1161-\u1175])")

_INVISIBLE_RE = re.compile("[" + "".join(map(chr, _INVISIBLE)) + "]")

# Digits disguised as letters inside something shaped like a phone number ("O1O-l234").
_PHONEISH = re.compile(r"[0-9oil|][0-9oil|]{1,3}[-. ]?[0-9oil|]{3,4}[-. ]?[0-9oil|]{4}(?![a-z])")
_LOOKALIKE_CODES = np.array([ord(c) for c in "oil|"], dtype=np.uint32)
_DIGIT_LOOKALIKES = str.maketrans({"o": "0", "i": "1", "l": "1", "|": "1"})

# "bit[.]ly", "naver(dot)com", "han . gl" -> real dots, so URL rules see the host.
_DOT_WORD = re.compile(r"[\[({](?:\.|dot)[\]})]")
_TLD = r"(?:com|net|org|kr|ly|gl|do|la|me|to|io|co|xyz|top|site|shop|info|biz|cc|gd|us|link|app)"
_SPACED_DOT = re.compile(r"(?:\. +| [ ]*\. *)(?=" + _TLD + r"\b)")

_HANGUL_SEPS = r"[ .,·•‧∙ㆍ/\\|\-_~*+=^'\"`:;!?#@$%&♡♥★☆◆◇■□●○※]"
_SPACED_HANGUL = re.compile(r"[가-힣](?:" + _HANGUL_SEPS + r"+[가-힣](?![가-힣]))+")
_SPACED_LATIN = re.compile(r"[a-z](?:[ .\-_*]{1,2}[a-z](?![a-z0-9])){3,}")
_NON_SPACE_SEP = re.compile(r"[^ 가-힣]")

_REPEATS = re.compile(r"([!?.,~^*=+\-_♡♥★☆ㅋㅎㅠㅜ])\1{2,}")
_OTHER_BLANKS = re.compile(r"[\t\r\f\v]")

# compact() keeps letters, digits and SEP; everything else is a separator.
_KEEP = np.array([chr(c).isalnum() for c in range(0x10000)], dtype=np.bool_)
_KEEP[0] = True


def _close_syllable(m: re.Match[str]) -> str:
    syllable, lead = m.group(1), m.group(2)
    code = ord(syllable) - 0xAC00
    tail = _L_TO_T.get(lead)
    if code % 28 or tail is None:
        return m.group(0)
    return chr(0xAC00 + code + tail)


def _recompose_jamo(text: str) -> str:
    text = _OPEN_SYLLABLE_THEN_L.sub(_close_syllable, text)
    return text.translate(_TO_COMPAT)


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


def _fix_phone_lookalikes(text: str) -> str:
    """Rewrite ``O1O-l234-5678`` only in the texts where a digit touches an o/i/l/|.

    Finding those is one numpy pass; the regex then runs on those few texts alone,
    because over a whole batch of English it would test every o, i and l.
    """
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    if len(codes) < 2:
        return text
    digit = (codes >= 48) & (codes <= 57)
    lookalike = np.isin(codes, _LOOKALIKE_CODES)
    touching = np.flatnonzero((digit[:-1] & lookalike[1:]) | (lookalike[:-1] & digit[1:]))
    if not len(touching):
        return text
    seps = np.flatnonzero(codes == 0)
    owners = set(np.searchsorted(seps, touching).tolist())
    parts = text.split(SEP)
    for i in owners:
        parts[i] = _PHONEISH.sub(_phone_digits, parts[i])
    return SEP.join(parts)


def _latinise_lookalikes(text: str) -> str:
    """Map Cyrillic/Greek look-alikes only in the texts of a batch that contain them."""
    parts = text.split(SEP)
    for i, part in enumerate(parts):
        if _CYR_GREEK.search(part):
            parts[i] = _MIXED_WORD.sub(_latinise_word, part)
    return SEP.join(parts)


def _squeeze_blanks(text: str) -> str:
    if "\t" in text or "\r" in text or "\f" in text or "\v" in text:
        text = _OTHER_BLANKS.sub(" ", text)
    while "  " in text:
        text = text.replace("  ", " ")
    return text.replace(" \n", "\n").replace("\n ", "\n")


def normalize_joined(text: str) -> str:
    """Normalise a text, or many texts joined with :data:`SEP`, in whole-string passes.

    This is the filter's hot path, so every regex starts with a literal or a character
    class (the engine then skips non-candidate positions in C) and rare obfuscations are
    gated by a cheap search. Separators inserted between letters (``대 출``, ``카.지.노``)
    are left in place here: the vocabulary rules and the model read :func:`compact`,
    which deletes them anyway; :func:`normalize` joins them for display.
    """
    text = unicodedata.normalize("NFKC", _INVISIBLE_RE.sub("", text))
    if _CONJOINING.search(text):
        text = _recompose_jamo(text)
    text = text.lower()
    if _CYR_GREEK.search(text):
        text = _latinise_lookalikes(text)
    text = _DOT_WORD.sub(".", text)
    text = _SPACED_DOT.sub(".", text)
    text = _fix_phone_lookalikes(text)
    text = _REPEATS.sub(r"\1\1", text)
    return _squeeze_blanks(text)


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


def compact_codes(text: str) -> npt.NDArray[np.uint32]:
    """Code points of :func:`compact` ``(text)``, computed with one numpy look-up."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    keep = _KEEP[np.minimum(codes, 0xFFFF)] & (codes < 0x10000)
    return codes[keep]


def compact(text: str) -> str:
    """Drop every space and symbol (keeping ``SEP``): ``대 출`` and ``대~출`` both read 대출.

    Keyword rules for Hangul vocabulary run on this form; it is never shown to anyone.
    """
    return compact_codes(text).tobytes().decode("utf-32-le")
