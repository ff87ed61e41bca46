"""Tables owned by the call side: one row per call, without the caller's number."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from numbering.models import Base, UtcDateTime


class CallRecord(Base):
    """A finished call to (or callback from) a safe number.

    ``caller_ref`` is an opaque per-number reference computed by the dialplan
    (keyed nested SHA-1 of number and caller, key derived from the master key):
    the same caller gets the same reference on one number and unrelated ones on
    two numbers. No column holds a phone number. No foreign key to ``numbers``:
    records of released numbers stay until the retention sweep removes them.
    """

    __tablename__ = "call_records"
    __table_args__ = (Index("ix_call_records_number_started_at", "number", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)  # SAFENUM_CALL tag
    number: Mapped[str] = mapped_column(String(12))
    caller_ref: Mapped[str] = mapped_column(String(20))
    # Number-independent key of the same caller (other derivation, same secret), for
    # the operators' global blocklist; never shown to drivers. None: recorded before
    # the dialplan computed it.
    caller_key: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(16))  # call | callback
    outcome: Mapped[str] = mapped_column(String(16))
    text_sent: Mapped[bool] = mapped_column(Boolean)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    duration_seconds: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(8))  # events | spool
