"""The one change path toward the phone system: a transactional outbox.

Every use case that changes what Asterisk must know (a route, a number's
preferences or blocks, the global blocklist, a text to send, a release, an owner's
deletion) calls :func:`record` with the *kind* of change and its subject, in the
same database transaction as the change itself. The row commits with the change or
not at all, so nothing is half-told: a rolled-back request leaves no entry, and a
committed change always has one.

Entries carry no personal data, only what to look at again: ``number`` entries name
a safe number, whose route, preferences, blocks and last caller each bridge re-reads
from the database when it applies the entry (re-reading makes applying idempotent
and order-safe: two quick changes can never be applied out of order). Each bridge
(one per Asterisk node) reads the outbox from its own recorded position
(:class:`BridgeNode`) and advances it only after the batch is in its AstDB, so a
crash re-applies a batch, never skips one. Redis pub/sub, where used, only wakes a
bridge early; it carries no change.

Ids must become visible in id order, or a bridge could pass an id whose
transaction commits later. SQLite has one writer at a time; on PostgreSQL the
first :func:`record` of a transaction takes a transaction-scoped advisory lock, so
transactions that write the outbox commit one after another.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, delete, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from numbering.models import Base, UtcDateTime
from numbering.types import SafeNumber

_PENDING = "safenum.outbox"  # session.info key: what this transaction already recorded
_ADVISORY_KEY = 0x5AFE_0B0C  # pg_advisory_xact_lock key of the outbox writers


class ChangeKind(enum.StrEnum):
    NUMBER = "number"
    """A safe number's route, preferences, blocks or holder changed (subject: digits)."""
    GLOBAL_BLOCKS = "global-blocks"
    """The operators' global blocklist changed (no subject)."""
    TEXTS = "texts"
    """A text became ``pending``: a relay should send it (subject: text record id)."""


class OutboxEntry(Base):
    __tablename__ = "outbox"
    # Never reuse an id after a trim: bridges compare positions by id.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BridgeNode(Base):
    """A bridge (one per Asterisk node) and how far into the outbox it has applied."""

    __tablename__ = "bridge_nodes"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    kind: ChangeKind
    subject: str

    @property
    def number(self) -> SafeNumber:
        return SafeNumber(self.subject)


def record(session: Session, kind: ChangeKind, subject: str = "", *, at: datetime) -> None:
    """Add a change to this transaction's outbox (once per kind and subject)."""
    seen: set[tuple[str, str]] = session.info.setdefault(_PENDING, set())
    if (kind, subject) in seen:
        return
    if not seen and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
    seen.add((kind, subject))
    session.add(OutboxEntry(kind=kind.value, subject=subject, created_at=at))
    session.flush()


def record_number(session: Session, number: SafeNumber, *, at: datetime) -> None:
    record(session, ChangeKind.NUMBER, number.digits, at=at)


def recorded(session: Session) -> bool:
    """True when this transaction wrote the outbox (its commit should wake bridges)."""
    return bool(session.info.get(_PENDING))


def forget_recorded(session: Session) -> None:
    session.info.pop(_PENDING, None)


class Outbox:
    """Reads for bridges and for commands that wait on them; one session, no commit."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def head(self) -> int:
        """The id of the newest entry (0: empty)."""
        return int(self.session.scalar(select(func.coalesce(func.max(OutboxEntry.id), 0))) or 0)

    def after(self, position: int, limit: int) -> list[Change]:
        rows = self.session.execute(
            select(OutboxEntry.id, OutboxEntry.kind, OutboxEntry.subject)
            .where(OutboxEntry.id > position)
            .order_by(OutboxEntry.id)
            .limit(limit)
        )
        return [Change(i, ChangeKind(k), s) for i, k, s in rows]

    # bridges ---------------------------------------------------------------
    def nodes(self) -> list[BridgeNode]:
        return list(self.session.scalars(select(BridgeNode).order_by(BridgeNode.name)))

    def node(self, name: str) -> BridgeNode | None:
        return self.session.get(BridgeNode, name)

    def register(self, name: str, position: int, now: datetime) -> None:
        """Record that ``name`` holds a replica equal to the database as of ``position``."""
        node = self.session.get(BridgeNode, name, with_for_update=True)
        if node is None:
            self.session.add(
                BridgeNode(name=name, position=position, registered_at=now, seen_at=now)
            )
        else:
            node.position = max(node.position, position)
            node.seen_at = now
        self.session.flush()

    def advance(self, name: str, position: int, now: datetime) -> None:
        node = self.session.get(BridgeNode, name, with_for_update=True)
        if node is not None and position > node.position:
            node.position = position
            node.seen_at = now
            self.session.flush()

    def forget(self, name: str) -> bool:
        node = self.session.get(BridgeNode, name)
        if node is None:
            return False
        self.session.delete(node)
        self.session.flush()
        return True

    def behind(self, position: int) -> list[str]:
        """Registered bridges that have not applied everything up to ``position``."""
        return [n.name for n in self.nodes() if n.position < position]

    def trim(self, older_than: datetime) -> int:
        """Delete entries that every registered bridge has applied and that are older
        than ``older_than`` (the margin keeps them for a bridge in mid-reconcile)."""
        nodes = self.nodes()
        if not nodes:
            return 0
        applied = min(n.position for n in nodes)
        result = self.session.execute(
            delete(OutboxEntry).where(
                OutboxEntry.id <= applied, OutboxEntry.created_at < older_than
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)
