"""Every query of the numbering domain. The service never builds SQL itself."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from numbering.allocation import Span
from numbering.crypto import WrappedKey
from numbering.models import (
    Agreement,
    AuditEntry,
    KeyRetirement,
    NumberRecord,
    NumberStatus,
    Owner,
    Pool,
    Route,
    Vehicle,
)


def _bounds(span: Span) -> tuple[str, str]:
    return f"{span.prefix}{span.start:08d}", f"{span.prefix}{span.end:08d}"


class SealedRoute(NamedTuple):
    """The columns that open one active route: no ORM objects for a 10^6-row scan."""

    number: str
    target_ct: bytes
    owner_id: str
    wrapped_key: bytes
    key_version: int

    @property
    def wrapped(self) -> WrappedKey:
        return WrappedKey(self.wrapped_key, self.key_version)


class NumberRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # pools
    def pools(self, prefix: str | None = None) -> Sequence[Pool]:
        q = select(Pool).order_by(Pool.prefix, Pool.range_start)
        if prefix is not None:
            q = q.where(Pool.prefix == prefix)
        return self.session.scalars(q).all()

    def overlapping_pool(self, prefix: str, start: int, end: int) -> Pool | None:
        q = select(Pool).where(
            Pool.prefix == prefix, Pool.range_start <= end, Pool.range_end >= start
        )
        return self.session.scalars(q.limit(1)).first()

    def add(self, row: Any) -> None:
        self.session.add(row)
        self.session.flush()

    def used_in(self, span: Span) -> int:
        lo, hi = _bounds(span)
        q = (
            select(func.count())
            .select_from(NumberRecord)
            .where(NumberRecord.number.between(lo, hi))
        )
        return int(self.session.scalar(q) or 0)

    def used_sorted(self, span: Span) -> Iterator[int]:
        lo, hi = _bounds(span)
        q = (
            select(NumberRecord.number)
            .where(NumberRecord.number.between(lo, hi))
            .order_by(NumberRecord.number)
            .execution_options(yield_per=10_000)
        )
        for number in self.session.scalars(q):
            yield int(number[4:])

    # agreements
    def agreement(self, agreement_id: int, *, for_update: bool = False) -> Agreement | None:
        q = select(Agreement).where(Agreement.id == agreement_id)
        if for_update:
            q = q.with_for_update()
        return self.session.scalars(q).first()

    def agreements(self) -> Sequence[Agreement]:
        return self.session.scalars(select(Agreement).order_by(Agreement.id)).all()

    def live_in_agreement(self, agreement_id: int | None) -> int:
        """Live numbers in the agreement's pools (None: pools outside any agreement)."""
        q = (
            select(func.count())
            .select_from(NumberRecord)
            .join(Pool, Pool.id == NumberRecord.pool_id)
            .where(
                Pool.agreement_id.is_(None)
                if agreement_id is None
                else Pool.agreement_id == agreement_id,
                NumberRecord.status.in_(NumberStatus.live()),
            )
        )
        return int(self.session.scalar(q) or 0)

    # numbers
    def numbers_page(
        self, after: str | None, limit: int, status: str | None = None, prefix: str | None = None
    ) -> Sequence[NumberRecord]:
        q = select(NumberRecord).order_by(NumberRecord.number).limit(limit)
        if after is not None:
            q = q.where(NumberRecord.number > after)
        if status is not None:
            q = q.where(NumberRecord.status == status)
        if prefix is not None:
            q = q.where(NumberRecord.number.startswith(prefix, autoescape=True))
        return self.session.scalars(q).all()

    def numbers_of(self, owner_id: str) -> Sequence[NumberRecord]:
        q = (
            select(NumberRecord)
            .where(NumberRecord.owner_id == owner_id)
            .order_by(NumberRecord.issued_at, NumberRecord.number)
        )
        return self.session.scalars(q).all()

    def number_by_card_token(self, token: str) -> NumberRecord | None:
        q = select(NumberRecord).where(NumberRecord.card_token == token)
        return self.session.scalars(q).first()

    def taken(self, numbers: Sequence[str]) -> set[str]:
        q = select(NumberRecord.number).where(NumberRecord.number.in_(numbers))
        return set(self.session.scalars(q))

    def try_insert(self, row: NumberRecord | Owner | KeyRetirement) -> bool:
        """Insert in a savepoint; False when a unique key says a concurrent writer won."""
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            return False
        return True

    def number(self, number: str, *, for_update: bool = False) -> NumberRecord | None:
        q = select(NumberRecord).where(NumberRecord.number == number)
        if for_update:
            q = q.with_for_update()
        return self.session.scalars(q).first()

    def live_count(self, owner_id: str) -> int:
        q = (
            select(func.count())
            .select_from(NumberRecord)
            .where(NumberRecord.owner_id == owner_id, NumberRecord.status.in_(NumberStatus.live()))
        )
        return int(self.session.scalar(q) or 0)

    def live_numbers(self) -> frozenset[str]:
        """The 12 digits of every number someone holds (active or paused)."""
        q = select(NumberRecord.number).where(NumberRecord.status.in_(NumberStatus.live()))
        return frozenset(self.session.scalars(q))

    def routable_numbers(self) -> Iterator[str]:
        """The 12 digits of every number a call or text can reach now (active, with a
        route), without reading any route: for the edge's table of numbers."""
        q = (
            select(NumberRecord.number)
            .join(Route, Route.number == NumberRecord.number)
            .where(NumberRecord.status == NumberStatus.ACTIVE)
            .execution_options(yield_per=10_000)
        )
        yield from self.session.scalars(q)

    def is_routable(self, number: str) -> bool:
        q = (
            select(NumberRecord.number)
            .join(Route, Route.number == NumberRecord.number)
            .where(NumberRecord.number == number, NumberRecord.status == NumberStatus.ACTIVE)
        )
        return self.session.scalars(q).first() is not None

    def live_numbers_of(self, owner_id: str) -> Sequence[NumberRecord]:
        q = select(NumberRecord).where(
            NumberRecord.owner_id == owner_id, NumberRecord.status.in_(NumberStatus.live())
        )
        return self.session.scalars(q.with_for_update()).all()

    def vehicle_has_live_number(self, vehicle_id: int) -> bool:
        q = select(NumberRecord.number).where(
            NumberRecord.vehicle_id == vehicle_id, NumberRecord.status.in_(NumberStatus.live())
        )
        return self.session.scalars(q.limit(1)).first() is not None

    def expired(self, now: datetime, limit: int) -> Sequence[NumberRecord]:
        q = select(NumberRecord).where(
            NumberRecord.status.in_(NumberStatus.live()), NumberRecord.expires_at <= now
        )
        return self.session.scalars(q.limit(limit).with_for_update()).all()

    def free_quarantined(self, now: datetime) -> int:
        stmt = delete(NumberRecord).where(
            NumberRecord.status == NumberStatus.QUARANTINED,
            NumberRecord.quarantine_until <= now,
        )
        return int(self.session.execute(stmt).rowcount)  # type: ignore[attr-defined]

    def delete_number(self, record: NumberRecord) -> None:
        self.session.delete(record)
        self.session.flush()

    # owners, vehicles, routes
    def owner_by_hash(self, phone_hash: bytes) -> Owner | None:
        q = select(Owner).where(Owner.phone_hash == phone_hash).with_for_update()
        return self.session.scalars(q).first()

    def _key_retirement(self, *, exclusive: bool) -> KeyRetirement:
        q = (
            select(KeyRetirement)
            .where(KeyRetirement.id == 1)
            .with_for_update(read=not exclusive)  # SQLite: its write lock orders these
            .execution_options(populate_existing=True)
        )
        row = self.session.scalars(q).first()
        if row is None:  # emptied by hand: nothing retired is recorded, so nothing is
            self.try_insert(KeyRetirement(id=1, oldest_usable=1))
            row = self.session.scalars(q).one()
        return row

    def oldest_usable_key_version(self) -> int:
        """Wrapping-key versions below this one are retired. Share-locked until the
        transaction ends: ``retire_key_versions_below`` waits for this writer's commit."""
        return self._key_retirement(exclusive=False).oldest_usable

    def retire_key_versions_below(self, version: int) -> None:
        """Record versions below ``version`` retired, under an update lock held until the
        transaction ends: it waits for writers that read the old mark, and writers that
        read it later wait for this commit and see the new one."""
        row = self._key_retirement(exclusive=True)
        row.oldest_usable = max(row.oldest_usable, version)
        self.session.flush()

    def wrapping_versions_in_use(self) -> dict[int, int]:
        """How many owners' data keys are wrapped under each wrapping-key version."""
        q = select(Owner.key_version, func.count()).group_by(Owner.key_version)
        return {int(v): int(n) for v, n in self.session.execute(q)}

    def wrapped_keys_not_under(
        self, version: int, after_id: str, limit: int
    ) -> Sequence[tuple[str, bytes, int]]:
        """Owners (id, wrapped key, version) past ``after_id`` whose key is not under
        ``version``, in id order: keyset pages over the primary key."""
        q = (
            select(Owner.id, Owner.wrapped_key, Owner.key_version)
            .where(Owner.id > after_id, Owner.key_version != version)
            .order_by(Owner.id)
            .limit(limit)
        )
        return [(i, bytes(w), int(v)) for i, w, v in self.session.execute(q)]

    def replace_wrapped_key(
        self, owner_id: str, old_version: int, blob: bytes, version: int
    ) -> bool:
        """Swap one owner's wrapped key and its version in one row update; False if the
        owner is gone or was re-wrapped meanwhile."""
        stmt = (
            update(Owner)
            .where(Owner.id == owner_id, Owner.key_version == old_version)
            .values(wrapped_key=blob, key_version=version)
            .execution_options(synchronize_session=False)
        )
        return int(self.session.execute(stmt).rowcount) == 1  # type: ignore[attr-defined]

    def owner(self, owner_id: str, *, for_update: bool = False) -> Owner | None:
        if not for_update:
            return self.session.get(Owner, owner_id)
        q = select(Owner).where(Owner.id == owner_id).with_for_update()
        return self.session.scalars(q).first()

    def vehicle(self, owner_id: str, plate_hash: bytes) -> Vehicle | None:
        q = select(Vehicle).where(Vehicle.owner_id == owner_id, Vehicle.plate_hash == plate_hash)
        return self.session.scalars(q).first()

    def vehicle_by_id(self, vehicle_id: int) -> Vehicle | None:
        return self.session.get(Vehicle, vehicle_id)

    def vehicles_of(self, owner_id: str) -> Sequence[Vehicle]:
        q = select(Vehicle).where(Vehicle.owner_id == owner_id).order_by(Vehicle.id)
        return self.session.scalars(q).all()

    def live_number_of_vehicle(self, vehicle_id: int) -> str | None:
        q = select(NumberRecord.number).where(
            NumberRecord.vehicle_id == vehicle_id, NumberRecord.status.in_(NumberStatus.live())
        )
        return self.session.scalars(q.limit(1)).first()

    def route(self, number: str) -> Route | None:
        return self.session.get(Route, number)

    def delete_route(self, number: str) -> None:
        self.session.execute(delete(Route).where(Route.number == number))

    def active_routes(self) -> Iterator[SealedRoute]:
        # Columns, not entities: loading 10^6 Route and Owner objects into the
        # identity map was three quarters of a full reconcile's database time.
        q = (
            select(Route.number, Route.target_ct, Owner.id, Owner.wrapped_key, Owner.key_version)
            .join(NumberRecord, NumberRecord.number == Route.number)
            .join(Owner, Owner.id == Route.owner_id)
            .where(NumberRecord.status == NumberStatus.ACTIVE)
            .execution_options(yield_per=5_000)
        )
        for row in self.session.execute(q):
            yield SealedRoute(*row)

    def destroy_owner(self, owner: Owner) -> tuple[int, int]:
        """Delete routes, vehicles and the owner row (with its wrapped key)."""
        routes = self.session.execute(delete(Route).where(Route.owner_id == owner.id))
        vehicles = self.session.execute(delete(Vehicle).where(Vehicle.owner_id == owner.id))
        self.session.execute(delete(Owner).where(Owner.id == owner.id))
        self.session.expunge(owner)
        return int(routes.rowcount), int(vehicles.rowcount)  # type: ignore[attr-defined]

    # audit
    def audit_page(
        self,
        after: int | None,
        limit: int,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Sequence[AuditEntry]:
        q = select(AuditEntry).order_by(AuditEntry.id).limit(limit)
        if after is not None:
            q = q.where(AuditEntry.id > after)
        if since is not None:
            q = q.where(AuditEntry.at >= since)
        if until is not None:
            q = q.where(AuditEntry.at < until)
        return self.session.scalars(q).all()

    def audit_since(self, actions: Sequence[str], since: datetime) -> Iterator[AuditEntry]:
        q = (
            select(AuditEntry)
            .where(AuditEntry.action.in_(actions), AuditEntry.at >= since)
            .order_by(AuditEntry.id)
            .execution_options(yield_per=5_000)
        )
        yield from self.session.scalars(q)

    def audit(
        self,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(
            AuditEntry(
                at=at,
                actor=actor,
                action=action,
                subject=subject,
                detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
            )
        )
