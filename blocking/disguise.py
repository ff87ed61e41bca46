"""Evidence that a text was disguised, read from the raw text before normalisation.

Normalisation undoes ``ⓝⓐⓥⓔⓡ``, ``ｂｅｔ``, ``T?el?egram`` and ``b■et365`` so the rules
read the plain words; but the disguise itself is the strongest sign of spam there is
(nobody pads the letters of a parking message), so it is recorded first, as the
``disguise`` rule, with one numpy pass over the batch.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

from blocking.normalize import MASKS, code_points, lookup, nfkc_flags_table

_STYLED_LATIN = (
    (0x249C, 0x24EA),  # parenthesised and circled Latin letters
    (0xFF21, 0xFF3B),  # full-width capitals
    (0xFF41, 0xFF5B),  # full-width small letters
    (0x1F130, 0x1F18A),  # squared and negative circled capitals
    (0x1D400, 0x1D800),  # mathematical alphanumerics (bold, script, ...)
)
_OUTSIDE_BMP = 0x10000
_MASK, _STYLED = 8, 16  # clear of the NFKC step's flag bits (see raw_classes)
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


@cache
def _raw_table() -> npt.NDArray[np.uint8]:
    flags = nfkc_flags_table()
    if len(flags) != len(_KIND) or (flags & (_MASK | _STYLED)).any():
        raise RuntimeError("the disguise bits overlap the NFKC step's flags")
    return flags | _KIND


def raw_classes(codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint8]:
    """One look-up of a raw batch's code points for both of its first readers: the
    disguise bits here and the NFKC step's flags (:func:`blocking.normalize.
    nfkc_flags_table`), for :func:`disguise_hits` and
    :func:`blocking.normalize.normalize_joined_with_codes`. Two gathers from 64 KB
    tables over the whole batch were one more than needed."""
    return lookup(_raw_table(), codes)


def _ascii(table: npt.NDArray[np.bool_], codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:
    out: npt.NDArray[np.bool_] = lookup(table, codes) & (codes < 128)
    return out


def _padding(codes: npt.NDArray[np.uint32], masks: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """Where padding begins: the first of one to three mask characters between two
    Latin letters, given where the mask characters are (``masks``, ascending).

    A letter is no mask character, so such padding is a whole run of masks; the runs
    are found from the (few) mask positions, not from the whole batch.
    """
    firsts = np.flatnonzero(np.diff(masks, prepend=-2) > 1)
    begin = masks[firsts]
    end = masks[np.append(firsts[1:], len(masks)) - 1] + 1  # one past the run
    fits = (end - begin <= 3) & (begin > 0) & (end < len(codes))
    begin, end = begin[fits], end[fits]
    padded: npt.NDArray[np.intp] = begin[
        _ascii(_LETTER, codes[begin - 1]) & _ascii(_LETTER, codes[end])
    ]
    return padded


def disguise_hits(
    joined: str,
    n_texts: int,
    codes: npt.NDArray[np.uint32] | None = None,
    classes: npt.NDArray[np.uint8] | None = None,
) -> list[list[tuple[str, str]]]:
    """One list per text of ``\\x00``-joined ``joined``: ``[("disguise", excerpt)]`` for a
    text with styled Latin letters or a mask character padding a Latin word, else ``[]``.

    Padding counts between two Latin letters only: a bank's ``2*5*`` and ``500***844``
    and a shop's ``1.8L*12`` are no disguise. ``codes``: ``joined``'s code points, when
    the caller has them (``encode("utf-32-le", "surrogatepass")``), and ``classes``:
    their :func:`raw_classes`."""
    hits: list[list[tuple[str, str]]] = [[] for _ in range(n_texts)]
    if codes is None:
        codes = code_points(joined, "surrogatepass")
    if not len(codes):
        return hits
    kind = lookup(_KIND, codes) if classes is None else classes
    styled = (kind & _STYLED) > 0
    beyond = np.flatnonzero(codes >= _OUTSIDE_BMP)  # emoji, or mathematical letters
    if len(beyond):  # the table is exact below U+10000: check the others by range
        wide = codes[beyond]
        styled[beyond] = False
        for low, high in _STYLED_LATIN:
            styled[beyond] |= (wide - np.uint32(low)) < np.uint32(high - low)
    found = np.flatnonzero(styled)
    masks = np.flatnonzero((kind & _MASK) != 0)  # bool: nonzero's fast path
    if len(masks):
        found = np.union1d(found, _padding(codes, masks))
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
