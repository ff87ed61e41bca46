"""Operator passwords: argon2id, with rehashing when the parameters change."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from numbering.errors import InvalidValue

_HASHER = PasswordHasher()
MIN_LENGTH = 12


@cache
def _dummy() -> str:
    """Verified against when the username is unknown, so both cases cost the same time.

    Hashed on first use, not at import: an argon2 hash costs about half a second of
    CPU, which every ``safenum`` command would pay at start-up, most never verifying."""
    return _HASHER.hash("not a real password")


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise InvalidValue(f"a password has at least {MIN_LENGTH} characters", field="password")
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
