"""The evasions spammers use, as functions: to train on them and to test normalisation.

Each function takes a text and a seeded ``random.Random`` and returns a disguised text
that a person still reads the same way. Training on these makes the model robust even
where a disguise slips past :mod:`blocking.normalize`.
"""

from __future__ import annotations

import random
from collections.abc import Callable

_HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}
_FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}
_CIRCLED_DIGITS = dict(zip("123456789", "①②③④⑤⑥⑦⑧⑨", strict=True))
_L = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_V = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_T = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"


def _words(text: str, rng: random.Random, change: Callable[[str], str], share: float) -> str:
    return " ".join(change(w) if rng.random() < share else w for w in text.split(" "))


def spaced(text: str, rng: random.Random) -> str:
    sep = rng.choice([" ", ".", "/", "-", "*", "~", "ㆍ", "_"])
    return _words(text, rng, lambda w: sep.join(w) if len(w) <= 4 else w, 0.5)


def zero_width(text: str, rng: random.Random) -> str:
    return "".join(c + ("\u200b" if rng.random() < 0.3 else "") for c in text)


def fullwidth(text: str, rng: random.Random) -> str:
    return "".join(_FULLWIDTH.get(c, c) if rng.random() < 0.7 else c for c in text)


def homoglyphs(text: str, rng: random.Random) -> str:
    return "".join(_HOMOGLYPHS.get(c, c) if rng.random() < 0.6 else c for c in text)


def circled(text: str, rng: random.Random) -> str:
    return "".join(_CIRCLED_DIGITS.get(c, c) for c in text)


def jamo(text: str, rng: random.Random) -> str:
    """Spell some syllables as compatibility jamo: 대출 -> ㄷㅐㅊㅜㄹ."""

    def split(ch: str) -> str:
        code = ord(ch) - 0xAC00
        if not 0 <= code < 11172 or rng.random() > 0.5:
            return ch
        return (_L[code // 588] + _V[(code % 588) // 28] + _T[code % 28]).strip()

    return "".join(split(c) for c in text)


def decorated(text: str, rng: random.Random) -> str:
    mark = rng.choice(["★", "♥", "◆", "☆", "✔", "💰", "🎰", "🔥", "!!!", "ㅡㅡ"])
    return f"{mark}{text}{mark}"


def phone_letters(text: str, rng: random.Random) -> str:
    return text.replace("010", rng.choice(["O1O", "0l0", "o1o", "01O"]))


EVASIONS: tuple[Callable[[str, random.Random], str], ...] = (
    spaced,
    zero_width,
    fullwidth,
    homoglyphs,
    circled,
    jamo,
    decorated,
    phone_letters,
)


def disguise(text: str, rng: random.Random) -> str:
    """Apply one or two random evasions."""
    for evasion in rng.sample(EVASIONS, rng.choice([1, 1, 2])):
        text = evasion(text, rng)
    return text
