"""Errors raised at the HTTP edge; they render through ``app_api.problems`` like any other."""

from __future__ import annotations

from numbering.errors import DomainError


class EdgeError(DomainError):
    """A DomainError that also sets response headers (WWW-Authenticate, Retry-After)."""

    def __init__(
        self, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.headers = headers or {}


class Unauthenticated(EdgeError):
    status = 401
    error_id = "unauthenticated"

    def __init__(self, message: str = "sign in first: no valid bearer token") -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(EdgeError):
    status = 403
    error_id = "forbidden"


class RateLimited(EdgeError):
    status = 429
    error_id = "rate-limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(retry_after, 1))})


class CodeRejected(EdgeError):
    """A wrong, expired or exhausted sign-in code (one id: the app shows one message)."""

    status = 400
    error_id = "code-rejected"


class TokenRejected(EdgeError):
    status = 401
    error_id = "token-rejected"


class IdempotencyKeyReused(EdgeError):
    status = 422
    error_id = "idempotency-key-reused"


class CacheUnavailable(EdgeError):
    status = 503
    error_id = "cache-unavailable"

    def __init__(self, message: str = "Redis is unreachable; try again shortly") -> None:
        super().__init__(message, headers={"Retry-After": "5"})
