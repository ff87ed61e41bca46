"""Master key file handling and envelope encryption."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from numbering.crypto import DecryptionError, Keyring, load_or_create_master_key
from numbering.errors import KeyFileError


def test_key_file_is_created_0600_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    first = load_or_create_master_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_master_key(path) == first
    assert len(first.wrap_roots[1]) == 32
    assert first.current == 1


def test_group_readable_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    load_or_create_master_key(path)
    os.chmod(path, 0o640)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_or_create_master_key(path)


def test_garbage_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text("not base64 at all!\n")
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError, match="base64"):
        load_or_create_master_key(path)


def test_ciphertext_is_bound_to_its_row() -> None:
    ring = Keyring(os.urandom(32))
    dek = ring.new_data_key()
    blob = dek.seal("+821012345678", "route:050412345678")
    assert dek.open(blob, "route:050412345678") == "+821012345678"
    with pytest.raises(DecryptionError):
        dek.open(blob, "route:050412345679")
    with pytest.raises(DecryptionError):
        ring.new_data_key().open(blob, "route:050412345678")


def test_wrapped_key_opens_only_for_its_owner_and_master() -> None:
    ring = Keyring(os.urandom(32))
    dek = ring.new_data_key()
    wrapped = ring.wrap(dek, "owner-a")
    assert ring.unwrap(wrapped, "owner-a") == dek
    with pytest.raises(DecryptionError):
        ring.unwrap(wrapped, "owner-b")
    with pytest.raises(DecryptionError):
        Keyring(os.urandom(32)).unwrap(wrapped, "owner-a")


def test_lookup_hash_is_keyed_and_separates_kinds() -> None:
    master = os.urandom(32)
    a, b = Keyring(master), Keyring(master)
    assert a.lookup_hash("phone", "+821012345678") == b.lookup_hash("phone", "+821012345678")
    assert a.lookup_hash("phone", "x") != a.lookup_hash("plate", "x")
    assert Keyring(os.urandom(32)).lookup_hash("phone", "x") != a.lookup_hash("phone", "x")
