"""Keyring logic: versions of the wrapping key, a stable index key, the key file formats."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from numbering import keyfile
from numbering.crypto import DecryptionError, Keyring, WrappedKey, load_or_create_master_key
from numbering.errors import KeyFileError, KeyringBusy, KeyVersionMissing
from numbering.keyfile import KeyMaterial


def _private(path: Path, text: str) -> Path:
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def test_the_original_key_file_is_version_1_of_a_keyring(tmp_path: Path) -> None:
    master = os.urandom(32)
    path = _private(tmp_path / "master.key", base64.b64encode(master).decode() + "\n")
    from_file, from_bytes = Keyring.from_file(path), Keyring(master)
    assert from_file.versions == (1,)
    dek = from_bytes.new_data_key()
    wrapped = from_bytes.wrap(dek, "owner-a")
    assert wrapped.version == 1
    assert from_file.unwrap(wrapped, "owner-a") == dek
    assert from_file.lookup_hash("phone", "x") == from_bytes.lookup_hash("phone", "x")


def test_a_new_version_wraps_new_keys_and_old_ones_still_open() -> None:
    old_master = os.urandom(32)
    material = KeyMaterial.from_master(old_master)
    old = Keyring(old_master)
    new = Keyring(material.with_version(os.urandom(32)))
    assert new.versions == (1, 2)
    assert new.current_version == 2
    dek = old.new_data_key()
    under_1 = old.wrap(dek, "owner-a")
    assert new.unwrap(under_1, "owner-a") == dek
    under_2 = new.rewrap(under_1, "owner-a")
    assert under_2.version == 2
    assert new.unwrap(under_2, "owner-a") == dek
    with pytest.raises(KeyVersionMissing, match="key version 2, which the master key file"):
        old.unwrap(under_2, "owner-a")  # version 1 alone cannot open version 2
    with pytest.raises(DecryptionError):  # still bound to its owner
        new.unwrap(under_2, "owner-b")


def test_the_index_key_survives_rotation_and_retirement() -> None:
    master = os.urandom(32)
    original = Keyring(master)
    rotated = KeyMaterial.from_master(master).with_version(os.urandom(32))
    for ring in (Keyring(rotated), Keyring(rotated.only_current())):
        assert ring.lookup_hash("phone", "+821012345678") == original.lookup_hash(
            "phone", "+821012345678"
        )
    assert Keyring(rotated).lookup_hash("phone", "x") != Keyring(os.urandom(32)).lookup_hash(
        "phone", "x"
    )


def test_retiring_drops_the_old_wrapping_key_and_the_original_master(tmp_path: Path) -> None:
    master = os.urandom(32)
    material = KeyMaterial.from_master(master).with_version(os.urandom(32))
    under_1 = Keyring(master).wrap(Keyring(master).new_data_key(), "owner-a")
    path = tmp_path / "master.key"
    keyfile.write(path, material.only_current())
    text = path.read_bytes()
    assert base64.b64encode(master) not in text
    assert base64.b64encode(keyfile.derive(master, keyfile.WRAP_INFO)) not in text
    ring = Keyring.from_file(path)
    assert ring.versions == (2,)
    with pytest.raises(KeyVersionMissing, match=r"holds \[2\]\): retired"):
        ring.unwrap(under_1, "owner-a")


def test_keyring_file_round_trips_and_is_written_0600(tmp_path: Path) -> None:
    material = KeyMaterial.from_master(os.urandom(32)).with_version(os.urandom(32))
    path = tmp_path / "master.key"
    keyfile.write(path, material)
    assert path.stat().st_mode & 0o777 == 0o600
    assert keyfile.load(path) == material
    assert load_or_create_master_key(path) == material  # an existing keyring is kept


def test_a_keyring_built_from_the_file_follows_a_rotation_without_restart(
    tmp_path: Path,
) -> None:
    """A running server: its keyring reads the key file again when it changed, so it
    wraps under the new version and opens keys a rotation re-wrapped meanwhile."""
    path = tmp_path / "master.key"
    running = Keyring.from_file(path)
    assert running.wrap(running.new_data_key(), "o").version == 1
    rotated = keyfile.load(path).with_version(os.urandom(32))
    keyfile.write(path, rotated)
    rotator = Keyring(rotated)
    dek = rotator.new_data_key()
    assert running.unwrap(rotator.wrap(dek, "owner-a"), "owner-a") == dek
    assert running.wrap(dek, "owner-a").version == 2


def test_a_data_key_opens_under_its_stored_version_and_no_other() -> None:
    """The version stored with a wrapped key chooses the wrapping key: one attempt, no
    trying the others. Under a wrong version it does not open even though the keyring
    holds the right one."""
    ring = Keyring(KeyMaterial.from_master(os.urandom(32)).with_version(os.urandom(32)))
    dek = ring.new_data_key()
    under_2 = ring.wrap(dek, "owner-a")
    assert ring.unwrap(under_2, "owner-a") == dek
    with pytest.raises(DecryptionError):
        ring.unwrap(WrappedKey(under_2.blob, 1), "owner-a")
    with pytest.raises(KeyVersionMissing, match=r"owner owner-a .* key version 3, .* \[1, 2\]"):
        ring.unwrap(WrappedKey(under_2.blob, 3), "owner-a")


def test_a_missing_version_is_looked_for_in_the_key_file_once_before_refusing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "master.key"
    running = Keyring.from_file(path)
    rotated = keyfile.load(path).with_version(os.urandom(32))
    dek = running.new_data_key()
    under_2 = Keyring(rotated).wrap(dek, "owner-a")
    keyfile.write(path, rotated)
    assert running.unwrap(under_2, "owner-a") == dek  # re-read: version 2 is there now
    with pytest.raises(KeyVersionMissing):
        running.unwrap(WrappedKey(under_2.blob, 3), "owner-a")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("safenum-keyring v9\n", "unknown format"),
        ("safenum-keyring v1\nwrap 1 {k}\n", "needs an index line"),
        ("safenum-keyring v1\nindex {k}\nwrap 1 {k}\nwrap 1 {k}\n", "repeated version"),
        ("safenum-keyring v1\nindex {k}\nwrap 0 {k}\n", "bad or repeated version"),
        ("safenum-keyring v1\nindex {k}\nwrap 1 c2hvcnQ=\n", "must hold 32 bytes"),
        ("safenum-keyring v1\nindex {k}\nsecret {k}\n", "unexpected line"),
    ],
)
def test_malformed_keyrings_are_refused(tmp_path: Path, body: str, message: str) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    path = _private(tmp_path / "master.key", body.format(k=key))
    with pytest.raises(KeyFileError, match=message):
        keyfile.load(path)


def test_one_keys_command_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    with keyfile.locked(path), pytest.raises(KeyringBusy), keyfile.locked(path):
        pass
    with keyfile.locked(path):  # released when the holder ends
        pass


def test_a_vanished_key_file_stops_wrapping_instead_of_using_a_key_only_in_memory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "master.key"
    ring = Keyring.from_file(path)
    path.unlink()
    with pytest.raises(KeyFileError, match="cannot read"):
        ring.wrap(ring.new_data_key(), "owner-a")
