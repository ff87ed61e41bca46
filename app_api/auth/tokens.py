"""Short-lived access tokens (JWT, HS256) naming an opaque subject, never a phone."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import jwt

from app_api.errors import Unauthenticated

Kind = Literal["driver", "operator"]
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a driver (opaque owner id) or an operator (id and role)."""

    kind: Kind
    subject: str
    role: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller (no personal data)."""
        return f"{'owner' if self.kind == 'driver' else 'operator'}:{self.subject}"


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105


class AccessTokens:
    def __init__(self, key: bytes, ttl: timedelta, clock: Callable[[], datetime]) -> None:
        self._key = key
        self.ttl = ttl
        self.clock = clock

    def issue(self, principal: Principal) -> str:
        now = self.clock()
        claims: dict[str, object] = {
            "sub": principal.subject,
            "knd": principal.kind,
            "iat": int(now.timestamp()),
            "exp": int((now + self.ttl).timestamp()),
            "jti": secrets.token_hex(8),
        }
        if principal.role is not None:
            claims["role"] = principal.role
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"verify_exp": False, "require": ["sub", "exp", "knd"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the access token is not valid; sign in again") from exc
        if int(claims["exp"]) <= self.clock().timestamp():
            raise Unauthenticated("the access token has expired; refresh it")
        kind = claims["knd"]
        if kind not in ("driver", "operator"):
            raise Unauthenticated("the access token is not valid; sign in again")
        role = claims.get("role")
        return Principal(kind, str(claims["sub"]), str(role) if role else None)
