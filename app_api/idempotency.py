"""``Idempotency-Key`` on POSTs that allocate or send: a retry gets the first answer.

The key's row is claimed first and completed in the same transaction as the effect
(the issued number), so either both exist or neither does. A concurrent duplicate
waits on the primary key, fails once the first commits, and replays its answer. The same key with a
different request is refused (``idempotency-key-reused``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app_api.errors import IdempotencyKeyReused
from app_api.models import IdempotencyKey

T = TypeVar("T")

KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Any unique string (a UUID); a retry with the same key replays the answer.",
    ),
]


def fingerprint(request: Request, body: Any) -> bytes:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode()).digest()


def run(
    unit_of_work: Callable[[], AbstractContextManager[T]],
    session_of: Callable[[T], Session],
    action: Callable[[T], Any],
    *,
    status: int,
    scope: str,
    key: str | None,
    fp: bytes,
    clock: Callable[[], Any],
) -> JSONResponse:
    """Run ``action`` once per (scope, key); its JSON-able result becomes the body."""
    if key is None:
        with unit_of_work() as uow:
            return JSONResponse(action(uow), status_code=status)
    for attempt in range(2):
        try:
            with unit_of_work() as uow:
                session = session_of(uow)
                stored = session.get(IdempotencyKey, (scope, key))
                if stored is not None:
                    if stored.fingerprint != fp:
                        raise IdempotencyKeyReused(
                            "this Idempotency-Key was used for a different request",
                            field="Idempotency-Key",
                        )
                    return JSONResponse(
                        json.loads(stored.body),
                        status_code=stored.status_code,
                        headers={"Idempotent-Replayed": "true"},
                    )
                # Claim the key before acting: a concurrent twin blocks on this insert
                # until we commit, then fails on the primary key and replays our answer.
                row = IdempotencyKey(
                    scope=scope,
                    key=key,
                    fingerprint=fp,
                    status_code=status,
                    body="",
                    created_at=clock(),
                )
                session.add(row)
                session.flush()
                body = action(uow)
                row.body = json.dumps(body, ensure_ascii=False)
                session.flush()
                return JSONResponse(body, status_code=status)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def purge(session: Session, before: datetime) -> int:
    """Forget answers older than the retry window: a client retries within minutes."""
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


def forget(session: Session, scope: str) -> int:
    """Drop a deleted account's stored answers (they name its numbers and plates)."""
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.scope == scope))
    return int(result.rowcount)  # type: ignore[attr-defined]
