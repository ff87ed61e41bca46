"""Errors of the telephony side that reach a person (rendered as problem+json by the API)."""

from __future__ import annotations

from typing import ClassVar

from numbering.errors import DomainError


class PbxUnavailable(DomainError):
    """The phone system cannot take the request now; the client may retry."""

    status = 503
    error_id = "pbx-unavailable"
    headers: ClassVar[dict[str, str]] = {"Retry-After": "5"}

    def __init__(self, message: str = "the phone system is unreachable; try again shortly") -> None:
        super().__init__(message)
