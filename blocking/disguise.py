"""Evidence that a text was disguised, read from the raw text before normalisation.

Normalisation undoes ``ⓝⓐⓥⓔⓡ``, ``ｂｅｔ``, ``T?el?egram`` and ``b■et365`` so the rules
read the plain words; but the disguise itself is the strongest sign of spam there is
(nobody pads the letters of a parking message), so it is recorded first, as the
``disguise`` rule, with one numpy pass over the batch.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from blocking.normalize import MASKS

_STYLED_LATIN = (
    (0x249C, 0x24EA),  # parenthesised and circled Latin letters
    (0xFF21, 0xFF3B),  # full-width capitals
    (0xFF41, 0xFF5B),  # full-width small letters
    (0x1F130, 0x1F18A),  # squared and negative circled capitals
    (0x1D400, 0x1D800),  # mathematical alphanumerics (bold, script, ...)
)
_OUTSIDE_BMP = 0x10000
_MASK, _STYLED = 1, 2
_KIND = np.zeros(_OUTSIDE_BMP + 1, dtype=np.uint8)
"""Per code point of the Basic Multilingual Plane: mask character, styled Latin letter;
the last entry stands for every code point beyond it (checked by range when present)."""
_KIND[[ord(c) for c in MASKS] + [0xFF1F, 0xFF0A, 0xFF03]] |= _MASK
for _low, _high in _STYLED_LATIN:
    _KIND[_low : min(_high, _OUTSIDE_BMP)] |= _STYLED
_KIND[_OUTSIDE_BMP] = _STYLED
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LETTER = np.zeros(128, dtype=np.bool_)
_LETTER[[ord(c) for c in _LETTERS]] = True
_EXCERPT = 12


def _ascii(table: npt.NDArray[np.bool_], codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:
    out: npt.NDArray[np.bool_] = np.take(table, np.minimum(codes, 127)) & (codes < 128)
    return out


def disguise_hits(joined: str, n_texts: int) -> list[list[tuple[str, str]]]:
    """One list per text of ``\\x00``-joined ``joined``: ``[("disguise", excerpt)]`` for a
    text with styled Latin letters or a mask character padding a Latin word, else ``[]``.

    Padding counts between two Latin letters only: a bank's ``2*5*`` and ``500***844``
    and a shop's ``1.8L*12`` are no disguise."""
    hits: list[list[tuple[str, str]]] = [[] for _ in range(n_texts)]
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if not len(codes):
        return hits
    kind = np.take(_KIND, np.minimum(codes, _OUTSIDE_BMP))
    styled = (kind & _STYLED) > 0
    beyond = np.flatnonzero(codes >= _OUTSIDE_BMP)  # emoji, or mathematical letters
    if len(beyond):  # the table is exact below U+10000: check the others by range
        wide = codes[beyond]
        styled[beyond] = False
        for low, high in _STYLED_LATIN:
            styled[beyond] |= (wide - np.uint32(low)) < np.uint32(high - low)
    mask = (kind & _MASK) > 0
    found = np.flatnonzero(styled)
    if mask.any():
        letter = _ascii(_LETTER, codes)
        padded = np.zeros(len(codes), dtype=np.bool_)
        # A letter, one to three mask characters, a letter.
        for run in (1, 2, 3):
            if len(codes) < run + 2:
                break
            inner = np.ones(len(codes) - run - 1, dtype=np.bool_)
            for k in range(1, run + 1):
                inner &= mask[k : len(codes) - run - 1 + k]
            before, after = slice(None, -run - 1), slice(run + 1, None)
            sides = letter[before] & letter[after]
            padded[1 : len(codes) - run] |= sides & inner
        found = np.union1d(found, np.flatnonzero(padded))
    if not len(found):
        return hits
    seps = np.flatnonzero(codes == 0)
    bounds = np.concatenate(([-1], seps, [len(codes)])).tolist()
    owners = np.searchsorted(seps, found).tolist()
    for at, owner in zip(found.tolist(), owners, strict=True):
        if not hits[owner]:
            low = max(at - _EXCERPT // 2, bounds[owner] + 1)
            excerpt = joined[low : min(at + _EXCERPT // 2, bounds[owner + 1])]
            hits[owner].append(("disguise", excerpt.strip()))
    return hits
