"""Tables of the numbering domain. No column holds a real phone number in clear."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from numbering.crypto import WrappedKey

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class NumberStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    QUARANTINED = "quarantined"  # released; rests before it returns to the pool

    @classmethod
    def live(cls) -> tuple[NumberStatus, ...]:
        return (cls.ACTIVE, cls.PAUSED)


class AgreementStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"


class Agreement(Base):
    """A pilot agreement between a district office and a telecom partner.

    Pools belong to an agreement; numbers are issued from them only while it is active,
    inside its term, and under its quota of live numbers.
    """

    __tablename__ = "agreements"
    __table_args__ = (
        CheckConstraint("quota >= 0", name="quota_min"),
        CheckConstraint("term_start <= term_end", name="term_order"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    district: Mapped[str] = mapped_column(String(64))
    partner: Mapped[str] = mapped_column(String(64))
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)
    quota: Mapped[int] = mapped_column(Integer)
    eligibility: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Pool(Base):
    """A range of subscriber numbers under one 050 prefix; never materialised row by row."""

    __tablename__ = "pools"
    __table_args__ = (
        CheckConstraint("range_start >= 0 AND range_start <= range_end", name="range_order"),
        CheckConstraint("range_end <= 99999999", name="range_max"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(4), index=True)
    range_start: Mapped[int] = mapped_column(Integer)
    range_end: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # None: a pool outside any agreement (CLI, tests), issued from without a quota.
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"), index=True)

    @property
    def size(self) -> int:
        return self.range_end - self.range_start + 1


class Owner(Base):
    __tablename__ = "owners"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, not a counter
    phone_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    phone_ct: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    key_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    @property
    def wrapped(self) -> WrappedKey:
        """The wrapped data key with the wrapping-key version that sealed it."""
        return WrappedKey(self.wrapped_key, self.key_version)


class KeyRetirement(Base):
    """One row (id 1): wrapping-key versions below ``oldest_usable`` are retired.

    A writer wrapping a new data key reads it with a share lock held to its commit, and
    ``safenum keys retire-old`` raises it under an update lock before counting the data
    keys left under old versions: so a registration either commits before the count
    (and is counted) or sees the retirement (and wraps under a newer version)."""

    __tablename__ = "key_retirement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    oldest_usable: Mapped[int] = mapped_column(Integer)


class Vehicle(Base):
    __tablename__ = "vehicles"
    __table_args__ = (UniqueConstraint("owner_id", "plate_hash", name="owner_plate"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    plate_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    plate_ct: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class NumberRecord(Base):
    """One row per number that is not free: live (active/paused) or quarantined."""

    __tablename__ = "numbers"
    __table_args__ = (
        Index("ix_numbers_status_expires_at", "status", "expires_at"),
        Index("ix_numbers_status_quarantine_until", "status", "quarantine_until"),
    )

    number: Mapped[str] = mapped_column(String(12), primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("owners.id", ondelete="SET NULL"), index=True
    )
    vehicle_id: Mapped[int | None] = mapped_column(
        ForeignKey("vehicles.id", ondelete="SET NULL"), index=True
    )
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    quarantine_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Unguessable id printed in the parking card's QR code (never the number itself);
    # cleared on release so an old card stops working.
    card_token: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)


class Route(Base):
    """Safe number -> owner's phone, sealed with the owner's data key. Deleted on release."""

    __tablename__ = "routes"

    number: Mapped[str] = mapped_column(
        ForeignKey("numbers.number", ondelete="CASCADE"), primary_key=True
    )
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    target_ct: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """Append-only (enforced by triggers in the migration); holds no personal data."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)  # JSON
