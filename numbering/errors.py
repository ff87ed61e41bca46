"""Domain errors with a stable id and an HTTP status.

Clients (the app, the console, the CLI) branch on ``error_id``, never on the message;
the message is for people and never contains a real phone number.
"""

from __future__ import annotations


class DomainError(Exception):
    status: int = 400
    error_id: str = "bad-request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidValue(DomainError):
    """Input that can never be valid, whatever the state: HTTP 422, CLI exit 2."""

    status = 422
    error_id = "invalid-value"


class NotFound(DomainError):
    status = 404
    error_id = "not-found"


class AccountGone(DomainError):
    """A valid token whose owner was deleted: sign in again."""

    status = 401
    error_id = "account-gone"


class Conflict(DomainError):
    status = 409
    error_id = "conflict"


class PoolExhausted(Conflict):
    error_id = "pool-exhausted"


class PoolOverlap(Conflict):
    error_id = "pool-overlap"


class OwnerLimitReached(Conflict):
    error_id = "owner-limit-reached"


class VehicleHasNumber(Conflict):
    error_id = "vehicle-has-number"


class AgreementNotActive(Conflict):
    error_id = "agreement-not-active"


class AgreementQuotaReached(Conflict):
    error_id = "agreement-quota-reached"


class InvalidTransition(Conflict):
    error_id = "invalid-transition"


class KeyFileError(DomainError):
    """The master key file is missing, unreadable or too open; the service must not start."""

    status = 500
    error_id = "key-file"


class KeyVersionMissing(KeyFileError):
    """A data key is wrapped under a version the key file does not hold (retired, or the
    wrong file): it cannot be opened, and no other version is tried."""


class KeyVersionRetired(KeyFileError):
    """This process would wrap a new data key under a version ``retire-old`` retired: its
    key file is behind the database's, so nothing is written under a removed key."""


class OldKeysInUse(Conflict):
    """Retiring wrapping keys that some data key is still wrapped under would shred it."""

    error_id = "old-keys-in-use"


class KeyringBusy(Conflict):
    """Another ``safenum keys`` command holds the key file."""

    error_id = "keyring-busy"
