"""Korean texts whose bytes were read as Chinese, repaired before normalisation.

Some Korean texts reach us with their EUC-KR (cp949) bytes decoded as GBK or Big5:
``[국제발신]`` shows as ``[?力?脚]``, ``(광고)`` as ``(惜堅)``, and a byte pair the
wrong table lacks as ``?``. (Of the KISA reports of August to November 2022, 76 spam
texts look like this and no "not spam" one.) Every two bytes of a Hangul syllable
became one ideograph, so each ideograph maps back to its syllable on its own, and the
rules and the model read ``국제발신``, ``광고``, ``카지노`` again.

A text is repaired only when it holds at least :data:`MIN_IDEOGRAPHS` ideographs, more
ideographs than Hangul syllables, and at least :data:`MIN_SHARE` of its ideographs map
back to Korean (a syllable or a line-drawing character). Chinese text does not:
about two of five common Chinese characters fall in the byte range of Hangul in cp949
(see ``tests/unit/blocking/test_mojibake.py``), so Chinese and Japanese stay as written.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate

import numpy as np
import numpy.typing as npt

MIN_IDEOGRAPHS = 3
MIN_SHARE = 0.8
_ENCODINGS = ("gbk", "big5")
_IDEOGRAPH = re.compile(r"[\u4e00-\u9fff]")
_FIRST_IDEOGRAPH, _IDEOGRAPHS = np.uint32(0x4E00), 0x9FFF - 0x4E00 + 1
_WIDE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
"""What a wrong double-byte table makes of a syllable: an ideograph or a kana."""
_HANGUL = re.compile(r"[가-힣]")


def _korean(ch: str) -> bool:
    return "가" <= ch <= "힣" or "\u2500" <= ch <= "\u257f"


def _back(ch: str, encoding: str) -> str:
    """``ch`` encoded as ``encoding`` and read as cp949: one character, or ``ch``."""
    try:
        out = ch.encode(encoding).decode("cp949")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return ch
    return out if len(out) == 1 else ch


def repair(text: str) -> str:
    """``text`` with GBK- or Big5-read Korean mapped back, or ``text`` unchanged."""
    ideographs = _IDEOGRAPH.findall(text)
    if len(ideographs) < MIN_IDEOGRAPHS or len(_HANGUL.findall(text)) >= len(ideographs):
        return text
    for encoding in _ENCODINGS:
        table = {ord(ch): _back(ch, encoding) for ch in set(_WIDE.findall(text))}
        if sum(_korean(table[ord(ch)]) for ch in ideographs) >= MIN_SHARE * len(ideographs):
            return text.translate(table)
    return text


def repair_batch(
    texts: list[str], joined: str | None = None, codes: npt.NDArray[np.uint32] | None = None
) -> list[str]:
    """:func:`repair` of each text holding an ideograph; the others are left alone. A
    batch where no text changes (texts to a parking number rarely hold an ideograph,
    and Chinese or Hanja stay as written) is returned as is, so the caller need not
    join it again.

    One regex scan of the whole batch finds the ideographs (``[...]+`` would scan
    several times slower in ``re``), and the texts they fall in come from the texts'
    end offsets, not from a search per text. ``joined``, when the caller has it (the
    pipeline's ``SEP.join(texts)``), is the texts joined by any one character, and
    saves the join here. ``codes``, when the caller has them, are ``joined``'s code
    points (one per character, as ``encode("utf-32-le", "surrogatepass")`` gives them),
    and numpy finds the ideographs there several times faster than the regex.
    """
    if codes is not None:
        at = np.flatnonzero((codes - _FIRST_IDEOGRAPH) < _IDEOGRAPHS)  # wraps below U+4E00
        if not len(at):
            return texts
        ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1)
        owners: list[int] = np.unique(np.searchsorted(ends, at, side="right")).tolist()
    else:
        if joined is None:
            joined = "\x00".join(texts)
        found = [m.start() for m in _IDEOGRAPH.finditer(joined)]
        if not found:
            return texts
        # ends[i]: the offset in ``joined`` just past text i and its separator.
        bounds = list(accumulate(len(t) + 1 for t in texts))
        owners = sorted({bisect_right(bounds, at) for at in found})
    repaired = texts
    for i in owners:
        text = repair(texts[i])
        if text is not texts[i]:  # repair() returns the text itself when it keeps it
            if repaired is texts:
                repaired = texts.copy()
            repaired[i] = text
    return repaired
