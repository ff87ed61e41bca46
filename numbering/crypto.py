"""Envelope encryption for personal data, so that deleting one key destroys one person.

Each owner gets a random 256-bit data key (DEK). Their phone, plates and routes are
sealed with AES-GCM under that DEK, with associated data naming the row the value
belongs to, so a ciphertext copied into another row does not open. The DEK is stored
wrapped by a wrapping key from the master key file (:mod:`numbering.keyfile`), with
the wrapping key's version. Deleting the wrapped DEK is crypto-shredding: every
ciphertext of that owner, in any backup or free page, becomes noise.

Equality look-ups ("is this phone registered?") use an HMAC under the index key, so
the database never has to decrypt every row and never holds a plain hash that a
dictionary of the 10^8 Korean mobile numbers could reverse. Rotation
(:mod:`numbering.key_rotation`) replaces wrapping keys only; the index key is stable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from numbering import keyfile
from numbering.atomic_files import publish_once
from numbering.errors import KeyFileError, KeyVersionMissing
from numbering.keyfile import KEY_BYTES, KeyMaterial

NONCE_BYTES: Final = 12


class DecryptionError(Exception):
    """The ciphertext does not open: wrong key, wrong row, tampered, or shredded."""


def load_or_create_master_key(path: Path) -> KeyMaterial:
    """Read the key file, creating a master key (mode 0600, never overwritten) on first run.

    Race-safe: a new key is published whole with :func:`atomic_files.publish_once`, so
    processes starting at once all read the first writer's key, never an empty file."""
    if not path.exists():
        key_line = base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n"
        publish_once(path, key_line)
    return keyfile.load(path)


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, blob: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError("ciphertext does not open with this key") from exc


@dataclass(frozen=True, slots=True)
class DataKey:
    """An owner's unwrapped DEK; lives only in memory for one unit of work."""

    key: bytes

    def seal(self, plaintext: str, context: str) -> bytes:
        return _seal(self.key, plaintext.encode(), context.encode())

    def open(self, blob: bytes, context: str) -> str:
        return _open(self.key, blob, context.encode()).decode()


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key sealed under wrapping-key ``version`` (stored with it on the owner row)."""

    blob: bytes
    version: int


@dataclass(frozen=True, slots=True)
class _Keys:
    index: bytes
    wrap: dict[int, bytes]  # version -> wrapping key
    current: int

    @classmethod
    def of(cls, material: KeyMaterial) -> _Keys:
        wrap = {
            v: keyfile.derive(root, keyfile.WRAP_INFO) for v, root in material.wrap_roots.items()
        }
        return cls(material.index_key, wrap, material.current)


class Keyring:
    """Master-key operations: wrap and unwrap DEKs, keyed hashes for look-ups.

    Holds every wrapping-key version of the key file. New DEKs are wrapped under the
    newest; a wrapped DEK opens under the version stored with it (``WrappedKey``), and
    no other. The index key never changes across rotations.

    Built from a file, the keyring follows it: before wrapping, and when a DEK's version
    is not among those held, it re-reads the file if the file changed, so a running
    server picks up a version ``safenum keys rotate`` added without a restart.
    """

    def __init__(self, master_key: bytes | KeyMaterial, path: Path | None = None) -> None:
        material = (
            master_key
            if isinstance(master_key, KeyMaterial)
            else KeyMaterial.from_master(master_key)
        )
        self._keys = _Keys.of(material)
        self._path = path
        self._seen: tuple[int, int, int] | None = None  # the file as last read: not yet

    @classmethod
    def from_file(cls, path: Path) -> Keyring:
        return cls(load_or_create_master_key(path), path)

    def _refresh(self) -> bool:
        """Re-read the key file if it changed since it was last read; True if re-read."""
        if self._path is None:
            return False
        try:
            st = self._path.stat()  # before reading: a change in between is read next time
        except OSError as exc:  # never wrap under a key that lives in memory only
            raise KeyFileError(f"cannot read master key file {self._path}: {exc.strerror}") from exc
        seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        if seen == self._seen:
            return False
        self._keys = _Keys.of(keyfile.load(self._path))  # one assignment: old or new keys
        self._seen = seen
        return True

    @property
    def current_version(self) -> int:
        return self._keys.current

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self._keys.wrap))

    def new_data_key(self) -> DataKey:
        return DataKey(AESGCM.generate_key(bit_length=256))

    def wrap(self, dek: DataKey, owner_id: str) -> WrappedKey:
        self._refresh()
        keys = self._keys
        blob = _seal(keys.wrap[keys.current], dek.key, f"dek:{owner_id}".encode())
        return WrappedKey(blob, keys.current)

    def unwrap(self, wrapped: WrappedKey, owner_id: str) -> DataKey:
        """Open a data key under the version stored with it, and only that version.

        A version this keyring lacks sends it back to the file once (a rotation may have
        added it since); still missing, the key cannot be opened: KeyVersionMissing."""
        key = self._keys.wrap.get(wrapped.version)
        if key is None and self._refresh():
            key = self._keys.wrap.get(wrapped.version)
        if key is None:
            raise KeyVersionMissing(
                f"the data key of owner {owner_id} is wrapped under key version "
                f"{wrapped.version}, which the master key file does not hold (it holds "
                f"{list(self.versions)}): retired, or SAFENUM_MASTER_KEY_FILE is the wrong file"
            )
        return DataKey(_open(key, wrapped.blob, f"dek:{owner_id}".encode()))

    def rewrap(self, wrapped: WrappedKey, owner_id: str) -> WrappedKey:
        """The same DEK, wrapped under the current version (rotation)."""
        return self.wrap(self.unwrap(wrapped, owner_id), owner_id)

    def lookup_hash(self, kind: str, value: str) -> bytes:
        """A keyed hash for equality look-ups; ``kind`` keeps phones and plates apart."""
        return hmac.new(self._keys.index, f"{kind}:{value}".encode(), hashlib.sha256).digest()
