"""The master key file: one key (version 1) or a keyring of wrapping-key versions.

Two formats, both read by :func:`load`:

- the original, one base64 line: a 32-byte master key. It stays valid unchanged as
  key version 1, so an install that never rotates needs no migration at all.
- a keyring, written by the first ``safenum keys rotate``::

      safenum-keyring v1
      index <base64 32 bytes>
      wrap 1 <base64 32 bytes>
      wrap 2 <base64 32 bytes>

Two keys are derived from a 32-byte root with HKDF-SHA256: the wrapping key (info
``safenum dek-wrap v1``) that wraps each owner's data key, and the index key (info
``safenum lookup-index v1``) behind every keyed hash. Each ``wrap N`` line is a root
whose wrapping key is version N; version 1's root is the original master key. The
``index`` line holds the index key itself, derived once from the original master key:
look-up hashes and the callers' references kept in blocks can never be recomputed,
so the index key never changes, and keeping it does not keep the original master key
(HKDF is one-way), so retiring version 1 destroys it.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from numbering.atomic_files import replace
from numbering.errors import KeyFileError, KeyringBusy

KEY_BYTES: Final = 32
HEADER: Final = "safenum-keyring v1"
WRAP_INFO: Final = b"safenum dek-wrap v1"
INDEX_INFO: Final = b"safenum lookup-index v1"


def derive(root: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=info).derive(root)


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """What a key file holds: the stable index key and the wrapping-key roots by version."""

    index_key: bytes
    wrap_roots: dict[int, bytes]

    def __post_init__(self) -> None:
        if not self.wrap_roots:
            raise ValueError("a keyring needs at least one wrapping key")
        for key in (self.index_key, *self.wrap_roots.values()):
            if len(key) != KEY_BYTES:
                raise ValueError(f"every key must be {KEY_BYTES} bytes")
        if min(self.wrap_roots) < 1:
            raise ValueError("key versions start at 1")

    @classmethod
    def from_master(cls, master_key: bytes) -> KeyMaterial:
        """The original single master key: wrapping key version 1 and the index key."""
        if len(master_key) != KEY_BYTES:
            raise ValueError(f"master key must be {KEY_BYTES} bytes")
        return cls(derive(master_key, INDEX_INFO), {1: master_key})

    @property
    def current(self) -> int:
        """The version new data keys are wrapped under: the newest one."""
        return max(self.wrap_roots)

    def with_version(self, root: bytes) -> KeyMaterial:
        return KeyMaterial(self.index_key, {**self.wrap_roots, self.current + 1: root})

    def only_current(self) -> KeyMaterial:
        return KeyMaterial(self.index_key, {self.current: self.wrap_roots[self.current]})

    def dump(self) -> bytes:
        lines = [HEADER, f"index {_b64(self.index_key)}"]
        lines += [f"wrap {v} {_b64(self.wrap_roots[v])}" for v in sorted(self.wrap_roots)]
        return ("\n".join(lines) + "\n").encode("ascii")


def load(path: Path) -> KeyMaterial:
    """Read either format; refuse a file others can read, or anything malformed."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"master key file {path} is readable by others (mode {oct(mode & 0o777)});"
                " run: chmod 600 on it"
            )
        text = path.read_text(encoding="ascii")
    except OSError as exc:
        raise KeyFileError(f"cannot read master key file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise KeyFileError(f"master key file {path} is not base64") from exc
    first, _, rest = text.partition("\n")
    if not first.startswith("safenum-keyring"):
        return KeyMaterial.from_master(_key(path, text.strip()))
    if first.strip() != HEADER:
        raise KeyFileError(f"master key file {path}: unknown format {first.strip()!r}")
    return _parse_keyring(path, [ln.split() for ln in rest.splitlines() if ln.strip()])


def _parse_keyring(path: Path, rows: list[list[str]]) -> KeyMaterial:
    index: bytes | None = None
    roots: dict[int, bytes] = {}
    for row in rows:
        if row[:1] == ["index"] and len(row) == 2 and index is None:
            index = _key(path, row[1])
        elif row[:1] == ["wrap"] and len(row) == 3 and row[1].isdigit():
            version = int(row[1])
            if version < 1 or version in roots:
                raise KeyFileError(f"master key file {path}: bad or repeated version {version}")
            roots[version] = _key(path, row[2])
        else:
            raise KeyFileError(f"master key file {path}: unexpected line {row[0]!r}")
    if index is None or not roots:
        raise KeyFileError(f"master key file {path}: needs an index line and a wrap line")
    return KeyMaterial(index, roots)


def _key(path: Path, text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise KeyFileError(f"master key file {path} is not base64") from exc
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"master key file {path} must hold {KEY_BYTES} bytes")
    return key


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def write(path: Path, material: KeyMaterial) -> None:
    """Replace the key file in one step: readers see the old keyring or the new one."""
    replace(path, material.dump())


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the key file's lock (a ``.lock`` file beside it) for one rotation or retirement,
    so two never add the same version or retire a key the other is re-wrapping under."""
    fd = os.open(path.parent / f".{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise KeyringBusy(f"another `safenum keys` command is working on {path}") from exc
        yield
    finally:
        os.close(fd)  # releases the lock
