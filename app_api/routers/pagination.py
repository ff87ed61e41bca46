"""Opaque cursors: base64url of the last key seen; clients pass them back unchanged."""

from __future__ import annotations

import base64
import binascii
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
