"""State and helpers every numbering use case shares; the use cases are mixins on it.

The caller owns the transaction: services only flush. A change Asterisk must follow is
recorded in the outbox (``numbering.outbox``) in the same transaction, so a rollback
never leaves a route in Asterisk that the database does not have, and a commit never
loses one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from numbering.crypto import Keyring
from numbering.errors import AccountGone, InvalidTransition, InvalidValue, NotFound
from numbering.models import NumberRecord, NumberStatus, Owner
from numbering.outbox import record_number
from numbering.repository import NumberRepository
from numbering.types import OwnerPhone, Plate, SafeNumber
from numbering.views import NumberView

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class NumberPolicy:
    max_per_owner: int = 2
    term: timedelta = timedelta(days=365)
    quarantine: timedelta = timedelta(days=180)


def parse_prefix(raw: str) -> str:
    if not (len(raw) == 4 and raw.isdigit() and raw.startswith("050") and raw[3] in "23456789"):
        raise InvalidValue("prefix must be 0502 to 0509", field="prefix")
    return raw


def parse_subscriber(raw: str, field: str) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 8):
        raise InvalidValue("must be up to 8 digits (00000000-99999999)", field=field)
    return int(raw)


class ServiceBase:
    def __init__(
        self,
        repo: NumberRepository,
        keyring: Keyring,
        clock: Clock,
        policy: NumberPolicy | None = None,
        *,
        actor: str = "system",
        rng: secrets.SystemRandom | None = None,
    ) -> None:
        self.repo = repo
        self.keyring = keyring
        self.clock = clock
        self.policy = policy or NumberPolicy()
        self.actor = actor
        self.rng = rng or secrets.SystemRandom()
        self.shredded = False  # personal data deleted: the caller purges residue after commit

    def _get(
        self, number: SafeNumber, *, for_update: bool = False, owner_id: str | None = None
    ) -> NumberRecord:
        """The number's row; with ``owner_id``, only if that owner holds it.

        Another owner's number answers exactly like a number that is not issued, so a
        driver cannot even learn which numbers exist.
        """
        record = self.repo.number(number.digits, for_update=for_update)
        if record is None or (owner_id is not None and record.owner_id != owner_id):
            raise NotFound(f"{number.national} is not issued", field="safe_number")
        return record

    def _owner(self, owner_id: str, *, lock: bool = False) -> Owner:
        owner = self.repo.owner(owner_id, for_update=lock)
        if owner is None:
            raise AccountGone("this account no longer exists")
        return owner

    def _require(self, record: NumberRecord, status: NumberStatus, verb: str) -> None:
        if record.status != status:
            raise InvalidTransition(f"cannot {verb} a {record.status} number")

    def _changed(self, number: SafeNumber) -> None:
        """Asterisk must re-read this number: recorded in this transaction's outbox."""
        record_number(self.repo.session, number, at=self.clock())

    def _set_status(self, record: NumberRecord, status: NumberStatus) -> NumberView:
        now = self.clock()
        record.status = status
        record.updated_at = now
        self.repo.session.flush()
        self.repo.audit(now, self.actor, f"number.{status}", record.number)
        self._changed(SafeNumber(record.number))
        return self._view(record)

    def _route_target(self, record: NumberRecord) -> OwnerPhone:
        route = self.repo.route(record.number)
        owner = self.repo.owner(record.owner_id) if record.owner_id else None
        if route is None or owner is None:
            raise NotFound(f"{record.number} has no route")
        dek = self.keyring.unwrap(owner.wrapped, owner.id)
        return OwnerPhone(dek.open(route.target_ct, f"route:{record.number}"))

    def _view(
        self, record: NumberRecord, phone: OwnerPhone | None = None, plate: Plate | None = None
    ) -> NumberView:
        if record.owner_id is not None and (phone is None or plate is None):
            owner = self.repo.owner(record.owner_id)
            if owner is not None:
                dek = self.keyring.unwrap(owner.wrapped, owner.id)
                phone = OwnerPhone(dek.open(owner.phone_ct, f"owner-phone:{owner.id}"))
                vehicle = self.repo.vehicle_by_id(record.vehicle_id) if record.vehicle_id else None
                if vehicle is not None:
                    plate = Plate(dek.open(vehicle.plate_ct, f"plate:{owner.id}"))
        return NumberView(
            safe_number=SafeNumber(record.number).national,
            status=record.status,
            owner_phone=phone.masked if phone else None,
            plate=plate.masked if plate else None,
            issued_at=record.issued_at,
            expires_at=record.expires_at,
            quarantine_until=record.quarantine_until,
        )

    def _release(self, record: NumberRecord, action: str) -> None:
        now = self.clock()
        self.repo.delete_route(record.number)
        record.status = NumberStatus.QUARANTINED
        record.owner_id = None
        record.vehicle_id = None
        record.released_at = now
        record.card_token = None
        record.quarantine_until = now + self.policy.quarantine
        record.updated_at = now
        self.repo.session.flush()
        self.repo.audit(now, self.actor, action, record.number)
        self._changed(SafeNumber(record.number))
