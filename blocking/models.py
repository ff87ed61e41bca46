"""Tables of call blocking: a driver's blocks (one caller on one number) and the
operators' global blocklist (one caller on every number); and the text records
(``blocking.text_records``).

Neither holds a phone number. A driver's block stores the caller's per-number
reference (as in ``call_records.caller_ref``); a global block stores the
number-independent caller key (``call_records.caller_key``). Both are keyed
hashes the dialplan computes from the caller's number with a secret derived from
the master key, so they can be checked in Asterisk without the number itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from numbering.models import Base, UtcDateTime


class NumberBlock(Base):
    """A caller a driver blocked on one of their numbers.

    ``owner_id`` is the holder when the block was made: only blocks of the
    number's current holder are replicated, so a reissued number never inherits
    them. Deleting the owner deletes their blocks.
    """

    __tablename__ = "number_blocks"
    __table_args__ = (UniqueConstraint("number", "caller_ref", name="number_caller"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(12), index=True)
    caller_ref: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GlobalBlock(Base):
    """A caller blocked on every safe number, by the operators or automatically.

    An operator's block is permanent (``expires_at`` is None) until lifted. An
    automatic block (``created_by`` is ``"auto"``: the caller dialled too many
    safe numbers in a short window) carries ``expires_at``: from that moment it is no
    longer replicated, and the scheduled sweep deletes it.
    """

    __tablename__ = "global_blocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    caller_key: Mapped[str] = mapped_column(String(20), unique=True)
    note: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class TextRecord(Base):
    """One text to (``in``) or from (``reply``) a safe number."""

    __tablename__ = "text_records"
    __table_args__ = (
        Index("ix_text_records_number_received_at", "number", "received_at"),
        Index("ix_text_records_status_received_at", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    spool_id: Mapped[str] = mapped_column(String(40), unique=True)
    number: Mapped[str] = mapped_column(String(12))
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # in | reply
    peer_ref: Mapped[str] = mapped_column(String(20))
    peer_key: Mapped[str | None] = mapped_column(String(20))  # operators only
    peer_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_ct: Mapped[bytes] = mapped_column(LargeBinary)
    body_bytes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(Text)  # JSON list of strings
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    released_by: Mapped[str | None] = mapped_column(String(64))
    # A pending text is sent by one relay at a time: the one whose claim is current.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    filter_model: Mapped[str] = mapped_column(String(40), default="", server_default="")
