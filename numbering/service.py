"""Numbering use cases: pools, issue, lifecycle, sweep, owner destruction.

The caller owns the transaction: the service only flushes. Route changes are
collected in ``route_changes`` and pushed to Asterisk by the caller after commit,
so a rollback never leaves a route in Asterisk that the database does not have.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from numbering.allocation import ROUNDS, Span, Spans, kth_free, shuffled
from numbering.crypto import KEY_VERSION, DataKey, Keyring
from numbering.errors import (
    InvalidTransition,
    InvalidValue,
    NotFound,
    OwnerLimitReached,
    PoolExhausted,
    PoolOverlap,
    VehicleHasNumber,
)
from numbering.models import NumberRecord, NumberStatus, Owner, Pool, Route, Vehicle
from numbering.repository import NumberRepository
from numbering.types import OwnerPhone, Plate, SafeNumber
from numbering.views import DestructionReceipt, NumberView, PoolView, RouteChange, SweepResult

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


class NumberService:
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
        self.route_changes: list[RouteChange] = []
        self.shredded = False  # personal data deleted: the caller purges residue after commit

    # pools ---------------------------------------------------------------
    def add_pool(self, prefix: str, range_from: str, range_to: str) -> PoolView:
        prefix = parse_prefix(prefix)
        start = parse_subscriber(range_from, "from")
        end = parse_subscriber(range_to, "to")
        if start > end:
            raise InvalidValue("'from' must not be greater than 'to'", field="from")
        clash = self.repo.overlapping_pool(prefix, start, end)
        if clash is not None:
            raise PoolOverlap(
                f"range overlaps pool {clash.id} ({prefix} "
                f"{clash.range_start:08d}-{clash.range_end:08d})",
                field="from",
            )
        pool = Pool(prefix=prefix, range_start=start, range_end=end, created_at=self.clock())
        self.repo.add(pool)
        self.repo.audit(
            self.clock(),
            self.actor,
            "pool.added",
            f"pool:{pool.id}",
            {"prefix": prefix, "range_from": f"{start:08d}", "range_to": f"{end:08d}"},
        )
        return self._pool_view(pool)

    def list_pools(self) -> list[PoolView]:
        return [self._pool_view(p) for p in self.repo.pools()]

    def _pool_view(self, pool: Pool) -> PoolView:
        used = self.repo.used_in(_span(pool))
        return PoolView(
            pool.id,
            pool.prefix,
            f"{pool.range_start:08d}",
            f"{pool.range_end:08d}",
            pool.size,
            used,
        )

    # issue ---------------------------------------------------------------
    def issue(self, phone: OwnerPhone, plate: Plate, prefix: str | None = None) -> NumberView:
        if prefix is not None:
            prefix = parse_prefix(prefix)
        owner, dek = self._owner_for(phone)
        vehicle = self._vehicle_for(owner, dek, plate)
        if self.repo.live_count(owner.id) >= self.policy.max_per_owner:
            raise OwnerLimitReached(
                f"an owner holds at most {self.policy.max_per_owner} safe numbers"
            )
        if self.repo.vehicle_has_live_number(vehicle.id):
            raise VehicleHasNumber("this vehicle already has a safe number", field="plate")
        now = self.clock()
        record = self._claim(prefix, owner.id, vehicle.id, now)
        number = SafeNumber(record.number)
        self.repo.add(
            Route(
                number=number.digits,
                owner_id=owner.id,
                target_ct=dek.seal(phone.e164, f"route:{number.digits}"),
                updated_at=now,
            )
        )
        self.repo.audit(now, self.actor, "number.issued", number.digits, {"pool": record.pool_id})
        self.route_changes.append(RouteChange(number, phone))
        return self._view(record, phone, plate)

    def _owner_for(self, phone: OwnerPhone) -> tuple[Owner, DataKey]:
        phone_hash = self.keyring.lookup_hash("phone", phone.e164)
        for _ in range(2):
            owner = self.repo.owner_by_hash(phone_hash)
            if owner is not None:
                return owner, self.keyring.unwrap(owner.wrapped_key, owner.id)
            owner_id = secrets.token_hex(16)
            dek = self.keyring.new_data_key()
            owner = Owner(
                id=owner_id,
                phone_hash=phone_hash,
                phone_ct=dek.seal(phone.e164, f"owner-phone:{owner_id}"),
                wrapped_key=self.keyring.wrap(dek, owner_id),
                key_version=KEY_VERSION,
                created_at=self.clock(),
            )
            if self.repo.try_insert(owner):
                return owner, dek
        raise RuntimeError("owner row vanished during registration")  # pragma: no cover

    def _vehicle_for(self, owner: Owner, dek: DataKey, plate: Plate) -> Vehicle:
        plate_hash = self.keyring.lookup_hash("plate", f"{owner.id}:{plate.text}")
        vehicle = self.repo.vehicle(owner.id, plate_hash)
        if vehicle is None:
            vehicle = Vehicle(
                owner_id=owner.id,
                plate_hash=plate_hash,
                plate_ct=dek.seal(plate.text, f"plate:{owner.id}"),
                created_at=self.clock(),
            )
            self.repo.add(vehicle)
        return vehicle

    def _claim(
        self, prefix: str | None, owner_id: str, vehicle_id: int, now: datetime
    ) -> NumberRecord:
        spans = Spans([_span(p) for p in self.repo.pools(prefix)])
        if spans.total == 0:
            where = f"prefix {prefix}" if prefix else "any prefix"
            raise PoolExhausted(f"no number pool for {where}", field="prefix")

        def record(span: Span, number: SafeNumber) -> NumberRecord:
            return NumberRecord(
                number=number.digits,
                pool_id=span.pool_id,
                status=NumberStatus.ACTIVE,
                owner_id=owner_id,
                vehicle_id=vehicle_id,
                issued_at=now,
                expires_at=now + self.policy.term,
                updated_at=now,
            )

        for _ in range(ROUNDS):
            batch = spans.sample(self.rng)
            taken = self.repo.taken([n.digits for _, n in batch])
            for span, number in batch:
                if number.digits not in taken:
                    claimed = record(span, number)
                    if self.repo.try_insert(claimed):
                        return claimed
            if len(batch) == spans.total and len(taken) == spans.total:
                break  # the whole pool was in the batch: exhausted
        # Nearly full: walk the used numbers of each span to find a free one exactly.
        for span in shuffled(spans.spans, self.rng):
            free = span.size - self.repo.used_in(span)
            while free > 0:
                found = kth_free(span, self.repo.used_sorted(span), self.rng.randrange(free))
                if found is not None:
                    claimed = record(span, found)
                    if self.repo.try_insert(claimed):
                        return claimed
                free = span.size - self.repo.used_in(span)
        where = f"prefix {prefix}" if prefix else "every pool"
        raise PoolExhausted(f"no free number left in {where}", field="prefix")

    # lifecycle -----------------------------------------------------------
    def show(self, number: SafeNumber) -> NumberView:
        return self._view(self._get(number))

    def pause(self, number: SafeNumber) -> NumberView:
        record = self._get(number, for_update=True)
        self._require(record, NumberStatus.ACTIVE, "pause")
        return self._set_status(record, NumberStatus.PAUSED, None)

    def resume(self, number: SafeNumber) -> NumberView:
        record = self._get(number, for_update=True)
        self._require(record, NumberStatus.PAUSED, "resume")
        return self._set_status(record, NumberStatus.ACTIVE, self._route_target(record))

    def renew(self, number: SafeNumber) -> NumberView:
        record = self._get(number, for_update=True)
        if record.status not in NumberStatus.live():
            raise InvalidTransition(f"cannot renew a {record.status} number")
        now = self.clock()
        record.expires_at = now + self.policy.term
        record.updated_at = now
        self.repo.audit(now, self.actor, "number.renewed", number.digits)
        return self._view(record)

    def release(self, number: SafeNumber) -> NumberView:
        record = self._get(number, for_update=True)
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

    def _release(self, record: NumberRecord, action: str) -> None:
        now = self.clock()
        self.repo.delete_route(record.number)
        record.status = NumberStatus.QUARANTINED
        record.owner_id = None
        record.vehicle_id = None
        record.released_at = now
        record.quarantine_until = now + self.policy.quarantine
        record.updated_at = now
        self.repo.session.flush()
        self.repo.audit(now, self.actor, action, record.number)
        self.route_changes.append(RouteChange(SafeNumber(record.number), None))

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

    # owners --------------------------------------------------------------
    def delete_owner(self, phone: OwnerPhone) -> DestructionReceipt:
        owner = self.repo.owner_by_hash(self.keyring.lookup_hash("phone", phone.e164))
        if owner is None:
            raise NotFound("no owner with this phone", field="phone")
        live = self.repo.live_numbers_of(owner.id)
        for record in live:
            self._release(record, "number.released")
        routes, vehicles = self.repo.destroy_owner(owner)
        self.shredded = True
        now = self.clock()
        receipt = DestructionReceipt(
            receipt_id=secrets.token_hex(8),
            subject=f"owner:{owner.id}",
            destroyed_at=now,
            actor=self.actor,
            method="crypto-shredding: the owner's data key was deleted, so every ciphertext "
            "sealed with it (phone, plates, routes) can no longer be decrypted; rows deleted",
            destroyed=[
                "owner data key",
                "owner phone (encrypted)",
                f"vehicle plates (encrypted): {vehicles}",
                f"routes: {routes + len(live)}",
            ],
            numbers_released=len(live),
        )
        self.repo.audit(now, self.actor, "owner.destroyed", receipt.subject, receipt.to_json())
        return receipt

    # replica feed --------------------------------------------------------
    def active_routes(self) -> Iterator[tuple[SafeNumber, OwnerPhone]]:
        """Every active route in clear, for the Asterisk replica only."""
        for route, owner in self.repo.active_routes():
            dek = self.keyring.unwrap(owner.wrapped_key, owner.id)
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

    # helpers -------------------------------------------------------------
    def _get(self, number: SafeNumber, *, for_update: bool = False) -> NumberRecord:
        record = self.repo.number(number.digits, for_update=for_update)
        if record is None:
            raise NotFound(f"{number.national} is not issued", field="safe_number")
        return record

    def _require(self, record: NumberRecord, status: NumberStatus, verb: str) -> None:
        if record.status != status:
            raise InvalidTransition(f"cannot {verb} a {record.status} number")

    def _set_status(
        self, record: NumberRecord, status: NumberStatus, target: OwnerPhone | None
    ) -> NumberView:
        now = self.clock()
        record.status = status
        record.updated_at = now
        self.repo.session.flush()
        self.repo.audit(now, self.actor, f"number.{status}", record.number)
        self.route_changes.append(RouteChange(SafeNumber(record.number), target))
        return self._view(record)

    def _route_target(self, record: NumberRecord) -> OwnerPhone:
        route = self.repo.route(record.number)
        owner = self.repo.owner(record.owner_id) if record.owner_id else None
        if route is None or owner is None:
            raise NotFound(f"{record.number} has no route")
        dek = self.keyring.unwrap(owner.wrapped_key, owner.id)
        return OwnerPhone(dek.open(route.target_ct, f"route:{record.number}"))

    def _view(
        self, record: NumberRecord, phone: OwnerPhone | None = None, plate: Plate | None = None
    ) -> NumberView:
        if record.owner_id is not None and (phone is None or plate is None):
            owner = self.repo.owner(record.owner_id)
            if owner is not None:
                dek = self.keyring.unwrap(owner.wrapped_key, owner.id)
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


def _span(pool: Pool) -> Span:
    return Span(pool.id, pool.prefix, pool.range_start, pool.range_end)
