"""Caller references are keyed: without the key, no dictionary of numbers finds a caller.

Korean mobile numbers are a space of 10^8; an unkeyed hash of one is reversed by
enumeration in minutes. The dialplan (``SHA1``, Asterisk has no HMAC) and
:class:`proxy.messaging.CallerRefs` compute SHA-1(outer ‖ SHA-1(inner ‖ message)) with two
64-character keys derived from the master key (``deploy/asterisk/README.md``, "Call
blocking"); ``tests/pbx/test_pbx_callback.py`` proves the dialplan and Python agree.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from app_api.pbx_config import caller_ref_key
from app_api.settings import Settings
from proxy.asterisk.config import render
from proxy.messaging import CallerRefs
from tests.unit.proxy.test_asterisk_config import make

NUMBER = "050412345678"  # a safe number
CALLER = "01012345678"  # fictitious; the attacker knows it is one of 010-1234-xxxx
KEYED = "${SHA1(${REF_KEY_OUTER}${SHA1(${REF_KEY_INNER}"


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def dictionary_hit(ref: str, guess: Callable[[str], str]) -> str | None:
    """The attacker: every number of the caller's block of 10^4, hashed by ``guess``."""
    return next(
        (c for c in (f"0101234{i:04d}" for i in range(10_000)) if guess(c)[:20] == ref), None
    )


def test_every_hash_of_a_number_in_the_dialplan_is_keyed_inside_and_outside(
    tmp_path: Path,
) -> None:
    cfg = make(tmp_path, caller_ref_key="ab" * 32)
    text = render(cfg)["extensions.conf"]
    inner, outer = cfg.ref_keys()
    assert f"REF_KEY_INNER = {inner}\n" in text
    assert f"REF_KEY_OUTER = {outer}\n" in text
    keyed = [m.start() for m in re.finditer(re.escape(KEYED), text)]
    assert len(keyed) == 4  # reference and key, on a call and on a callback
    inner_calls = {at + len("${SHA1(${REF_KEY_OUTER}") for at in keyed}
    for found in re.finditer(re.escape("${SHA1("), text):
        at = found.start()
        keyed_here = at in keyed or at in inner_calls
        assert keyed_here or text.startswith("${SHA1(${RAND()}", at), text[at : at + 60]


def test_without_the_key_a_dictionary_of_numbers_finds_no_caller() -> None:
    inner, outer = "1" * 64, "2" * 64
    refs = CallerRefs(inner, outer)
    ref, key = refs.ref(NUMBER, CALLER), refs.key(CALLER)
    # With the keys, the enumeration finds the caller: the attack below is a real one.
    assert dictionary_hit(ref, lambda c: sha1(outer + sha1(inner + NUMBER + c))) == CALLER
    assert dictionary_hit(key, lambda c: sha1(outer + sha1(inner + "*" + c))) == CALLER
    for guess in (
        lambda c: sha1(NUMBER + c),
        lambda c: sha1(sha1(NUMBER + c)),
        lambda c: sha1(c),
        lambda c: CallerRefs("", "").ref(NUMBER, c),
        lambda c: CallerRefs("3" * 64, "4" * 64).ref(NUMBER, c),  # a wrong key
    ):
        assert dictionary_hit(ref, guess) is None
    for guess in (lambda c: sha1("*" + c), lambda c: CallerRefs("", "").key(c)):
        assert dictionary_hit(key, guess) is None


def test_production_keys_come_from_the_master_key_not_from_the_ami_secret(
    tmp_path: Path,
) -> None:
    first = caller_ref_key(Settings(data_dir=tmp_path / "a"))
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert caller_ref_key(Settings(data_dir=tmp_path / "a")) == first  # stable: refs persist
    assert caller_ref_key(Settings(data_dir=tmp_path / "b")) != first  # another master key
    with_key = make(tmp_path, caller_ref_key=first).ref_keys()
    assert with_key != make(tmp_path).ref_keys()
    assert first not in with_key  # the dialplan holds derived keys, not this one
