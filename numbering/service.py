"""Numbering use cases: issue, lifecycle, sweep, search and the replica feed.

``NumberService`` is the one object callers use; pools, owners and cards live in their
own modules as mixins on :class:`numbering.service_base.ServiceBase`.
"""

from __future__ import annotations

from collections.abc import Iterator

from numbering.cards import CardOps
from numbering.errors import (
    InvalidTransition,
    InvalidValue,
    NotFound,
    OwnerLimitReached,
    VehicleHasNumber,
)
from numbering.models import NumberStatus, Owner, Route, Vehicle
from numbering.owners import OwnerOps
from numbering.pools import PoolOps
from numbering.service_base import Clock, NumberPolicy, parse_prefix, parse_subscriber
from numbering.types import OwnerPhone, Plate, SafeNumber
from numbering.views import NumberView, SweepResult

__all__ = ["Clock", "NumberPolicy", "NumberService", "parse_prefix", "parse_subscriber"]


class NumberService(PoolOps, OwnerOps, CardOps):
    def issue(self, phone: OwnerPhone, plate: Plate, prefix: str | None = None) -> NumberView:
        if prefix is not None:
            prefix = parse_prefix(prefix)
        owner, dek = self._owner_for(phone)
        vehicle = self._vehicle_for(owner, dek, plate)
        return self._issue(owner, vehicle, phone, plate, prefix)

    def _issue(
        self,
        owner: Owner,
        vehicle: Vehicle,
        phone: OwnerPhone,
        plate: Plate,
        prefix: str | None,
    ) -> NumberView:
        if self.repo.live_count(owner.id) >= self.policy.max_per_owner:
            raise OwnerLimitReached(
                f"an owner holds at most {self.policy.max_per_owner} safe numbers"
            )
        if self.repo.vehicle_has_live_number(vehicle.id):
            raise VehicleHasNumber("this vehicle already has a safe number", field="plate")
        now = self.clock()
        record = self._claim(prefix, owner.id, vehicle.id, now)
        number = SafeNumber(record.number)
        dek = self.keyring.unwrap(owner.wrapped, owner.id)
        self.repo.add(
            Route(
                number=number.digits,
                owner_id=owner.id,
                target_ct=dek.seal(phone.e164, f"route:{number.digits}"),
                updated_at=now,
            )
        )
        self.repo.audit(now, self.actor, "number.issued", number.digits, {"pool": record.pool_id})
        self._changed(number)
        return self._view(record, phone, plate)

    def issue_for_vehicle(
        self, owner_id: str, vehicle_id: int, prefix: str | None = None
    ) -> NumberView:
        if prefix is not None:
            prefix = parse_prefix(prefix)
        owner = self._owner(owner_id, lock=True)
        vehicle = self.repo.vehicle_by_id(vehicle_id)
        if vehicle is None or vehicle.owner_id != owner.id:
            raise NotFound(f"no vehicle {vehicle_id}", field="vehicle_id")
        dek = self.keyring.unwrap(owner.wrapped, owner.id)
        phone = OwnerPhone(dek.open(owner.phone_ct, f"owner-phone:{owner.id}"))
        plate = Plate(dek.open(vehicle.plate_ct, f"plate:{owner.id}"))
        return self._issue(owner, vehicle, phone, plate, prefix)

    def numbers_of(self, owner_id: str) -> list[NumberView]:
        return [self._view(r) for r in self.repo.numbers_of(self._owner(owner_id).id)]

    def show(self, number: SafeNumber, *, owner_id: str | None = None) -> NumberView:
        return self._view(self._get(number, owner_id=owner_id))

    def pause(self, number: SafeNumber, *, owner_id: str | None = None) -> NumberView:
        record = self._get(number, for_update=True, owner_id=owner_id)
        self._require(record, NumberStatus.ACTIVE, "pause")
        return self._set_status(record, NumberStatus.PAUSED)

    def resume(self, number: SafeNumber, *, owner_id: str | None = None) -> NumberView:
        record = self._get(number, for_update=True, owner_id=owner_id)
        self._require(record, NumberStatus.PAUSED, "resume")
        self._route_target(record)  # NotFound when the route is gone
        return self._set_status(record, NumberStatus.ACTIVE)

    def renew(self, number: SafeNumber, *, owner_id: str | None = None) -> NumberView:
        record = self._get(number, for_update=True, owner_id=owner_id)
        if record.status not in NumberStatus.live():
            raise InvalidTransition(f"cannot renew a {record.status} number")
        now = self.clock()
        record.expires_at = now + self.policy.term
        record.updated_at = now
        self.repo.audit(now, self.actor, "number.renewed", number.digits)
        return self._view(record)

    def release(self, number: SafeNumber, *, owner_id: str | None = None) -> NumberView:
        record = self._get(number, for_update=True, owner_id=owner_id)
        if record.status not in NumberStatus.live():
            raise InvalidTransition(f"cannot release a {record.status} number")
        view = self._view(record)
        self._release(record, "number.released")
        return NumberView(
            view.safe_number,
            record.status,
            None,
            None,
            view.issued_at,
            view.expires_at,
            record.quarantine_until,
        )

    def sweep(self, batch: int = 1000) -> SweepResult:
        """Release expired numbers and return quarantined ones whose rest is over."""
        now = self.clock()
        released = 0
        while expired := self.repo.expired(now, batch):
            for record in expired:
                self._release(record, "number.expired")
            released += len(expired)
        freed = self.repo.free_quarantined(now)
        return SweepResult(released, freed)

    def search(
        self,
        after: SafeNumber | None,
        limit: int,
        status: str | None = None,
        prefix: str | None = None,
    ) -> list[NumberView]:
        if prefix is not None and not (prefix.isascii() and prefix.isdigit() and len(prefix) <= 12):
            raise InvalidValue("prefix must be digits, e.g. 0504 or 05041234", field="prefix")
        if status is not None and status not in set(NumberStatus):
            raise InvalidValue(f"status must be one of {', '.join(NumberStatus)}", field="status")
        rows = self.repo.numbers_page(after.digits if after else None, limit, status, prefix)
        return [self._view(r) for r in rows]

    def active_routes(self) -> Iterator[tuple[SafeNumber, OwnerPhone]]:
        """Every active route in clear, for the Asterisk replica only."""
        for route in self.repo.active_routes():
            dek = self.keyring.unwrap(route.wrapped, route.owner_id)
            yield (
                SafeNumber(route.number),
                OwnerPhone(dek.open(route.target_ct, f"route:{route.number}")),
            )

    def current_route(self, number: SafeNumber) -> OwnerPhone | None:
        """Where a call to ``number`` goes now: the owner's phone if active, else nowhere."""
        record = self.repo.number(number.digits)
        if record is None or record.status != NumberStatus.ACTIVE:
            return None
        return self._route_target(record)
