"""Opaque cursors: base64url of the last key seen; clients pass them back unchanged."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Query

from numbering.errors import InvalidValue

Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
Cursor = Annotated[
    str | None, Query(max_length=200, description="next_cursor of the previous page.")
]


def encode(key: str | int) -> str:
    return base64.urlsafe_b64encode(str(key).encode()).decode().rstrip("=")


def decode(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not raw:
        raise InvalidValue("not a cursor from this API", field="cursor")
    return raw


def decode_int(cursor: str | None) -> int | None:
    raw = decode(cursor)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        raise InvalidValue("not a cursor from this API", field="cursor")
    return int(raw)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def encode_at(at: datetime, key: int) -> str:
    """A cursor for lists ordered by (time, id): both of the last item seen."""
    return encode(f"{(at - _EPOCH) // _MICRO}.{key}")


def decode_at(cursor: str | None) -> tuple[datetime, int] | None:
    raw = decode(cursor)
    if raw is None:
        return None
    micros, _, key = raw.partition(".")
    for part in (micros, key):
        if not (part.isascii() and part.isdigit() and len(part) < 18):
            raise InvalidValue("not a cursor from this API", field="cursor")
    try:
        return _EPOCH + int(micros) * _MICRO, int(key)
    except OverflowError as exc:
        raise InvalidValue("not a cursor from this API", field="cursor") from exc
