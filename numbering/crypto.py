"""Envelope encryption for personal data, so that deleting one key destroys one person.

Each owner gets a random 256-bit data key (DEK). Their phone, plates and routes are
sealed with AES-GCM under that DEK, with associated data naming the row the value
belongs to, so a ciphertext copied into another row does not open. The DEK is stored
wrapped by the master key. Deleting the wrapped DEK is crypto-shredding: every
ciphertext of that owner, in any backup or free page, becomes noise.

Equality look-ups ("is this phone registered?") use an HMAC keyed from the master
key, so the database never has to decrypt every row and never holds a plain hash
that a dictionary of the 10^8 Korean mobile numbers could reverse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from numbering.atomic_files import publish_once
from numbering.errors import KeyFileError

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
KEY_VERSION: Final = 1


class DecryptionError(Exception):
    """The ciphertext does not open: wrong key, wrong row, tampered, or shredded."""


def load_or_create_master_key(path: Path) -> bytes:
    """Read the master key, creating it (mode 0600, never overwritten) on first run.

    Race-safe: a new key is published whole with :func:`atomic_files.publish_once`, so
    processes starting at once all read the first writer's key, never an empty file."""
    if not path.exists():
        key_line = base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n"
        publish_once(path, key_line)
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"master key file {path} is readable by others (mode {oct(mode & 0o777)});"
                " run: chmod 600 on it"
            )
        key = base64.b64decode(path.read_text().strip(), validate=True)
    except OSError as exc:
        raise KeyFileError(f"cannot read master key file {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise KeyFileError(f"master key file {path} is not base64") from exc
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"master key file {path} must hold {KEY_BYTES} bytes")
    return key


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


class Keyring:
    """Master-key operations: wrap and unwrap DEKs, keyed hashes for look-ups."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise ValueError("master key must be 32 bytes")
        self._wrap_key = self._derive(master_key, b"safenum dek-wrap v1")
        self._index_key = self._derive(master_key, b"safenum lookup-index v1")

    @staticmethod
    def _derive(master: bytes, info: bytes) -> bytes:
        return HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=info).derive(master)

    @classmethod
    def from_file(cls, path: Path) -> Keyring:
        return cls(load_or_create_master_key(path))

    def new_data_key(self) -> DataKey:
        return DataKey(AESGCM.generate_key(bit_length=256))

    def wrap(self, dek: DataKey, owner_id: str) -> bytes:
        return _seal(self._wrap_key, dek.key, f"dek:{owner_id}".encode())

    def unwrap(self, wrapped: bytes, owner_id: str) -> DataKey:
        return DataKey(_open(self._wrap_key, wrapped, f"dek:{owner_id}".encode()))

    def lookup_hash(self, kind: str, value: str) -> bytes:
        """A keyed hash for equality look-ups; ``kind`` keeps phones and plates apart."""
        return hmac.new(self._index_key, f"{kind}:{value}".encode(), hashlib.sha256).digest()
