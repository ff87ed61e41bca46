"""Call blocking: a driver blocks a caller from a call record; operators keep a global list.

A driver never handles a caller's number, only the record of a call (or of a text:
the relay gives a texter the same per-number reference): blocking it stores the
record's per-number caller reference against that number (the dialplan refuses
``safenum/block/<number>/<ref>``; the text relay keeps such a sender's texts back).
References are per number, so such a block covers that caller on that one number.

A global block is the operators' answer to a caller who bothers many numbers: it
stores the record's *caller key*, which the dialplan derives from the caller's
number alone (same secret, another input), and refuses every call whose key is in
``safenum/block/all/<key>``. Drivers never see caller keys, so they cannot link a
caller across numbers; operators can, which a global blocklist needs anyway.

Automatic blocks: a caller who dials many different safe numbers in a short
window (:mod:`blocking.sweep`) gets a global block of its own, made by ``"auto"``
with an ``expires_at``; it is replicated like an operator's until it expires, then
the scheduled sweep deletes it (``expire_auto_blocks``). An operator's block is
never shortened or replaced by an automatic one; blocking an automatically blocked
caller by hand makes the block permanent.

Withheld callers share the reference ``anonymous``; they cannot be blocked (that
would refuse every withheld caller, a neighbour included). The service flushes and
records what changed in the outbox (``numbering.outbox``) in the same transaction;
the request edge commits, and every bridge makes its AstDB follow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blocking.models import GlobalBlock, NumberBlock
from calls.records import CallRecords, CallRecordView
from numbering.errors import Conflict, InvalidValue, NotFound
from numbering.models import NumberRecord, NumberStatus
from numbering.outbox import ChangeKind, record, record_number
from numbering.repository import NumberRepository
from numbering.types import SafeNumber
from numbering.views import _View

REFERENCE = re.compile(r"^[0-9a-f]{20}$")
"""Shape of a caller reference or key: 20 lower-case hex digits of a keyed SHA-1."""

AUTO = "auto"
"""``created_by`` (and audit actor) of automatic blocks."""


@dataclass(frozen=True)
class Blocks:
    """Every block in force: per number (12 digits -> caller refs) and global keys."""

    numbers: dict[str, frozenset[str]] = field(default_factory=dict)
    keys: frozenset[str] = frozenset()


class CallerNotBlockable(Conflict):
    """The record names no blockable caller: withheld number, or recorded without a key."""

    error_id = "caller-not-blockable"


@dataclass(frozen=True, slots=True)
class BlockView(_View):
    id: int
    safe_number: str
    caller_ref: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class GlobalBlockView(_View):
    id: int
    caller_key: str
    note: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    """None for an operator's block; when an automatic block ends."""


class BlockRepository:
    """Every query of the blocking tables."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def insert(self, row: NumberBlock | GlobalBlock) -> bool:
        """Insert in a savepoint; False when a unique key says a concurrent writer won."""
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            return False
        return True

    def number_block(self, number: str, caller_ref: str) -> NumberBlock | None:
        q = select(NumberBlock).where(
            NumberBlock.number == number, NumberBlock.caller_ref == caller_ref
        )
        return self.session.scalars(q).first()

    def holder_of(self, number: str) -> str | None:
        """The owner holding ``number`` now (None when free or released)."""
        q = select(NumberRecord.owner_id).where(NumberRecord.number == number)
        return self.session.scalar(q)

    def number_blocks_of(self, owner_id: str) -> list[NumberBlock]:
        """Blocks on the numbers ``owner_id`` holds now (not those left on released ones)."""
        q = (
            select(NumberBlock)
            .join(
                NumberRecord,
                (NumberRecord.number == NumberBlock.number)
                & (NumberRecord.owner_id == NumberBlock.owner_id),
            )
            .where(NumberBlock.owner_id == owner_id)
            .order_by(NumberBlock.id.desc())
        )
        return list(self.session.scalars(q))

    def replicated(self, number: str | None = None) -> dict[str, frozenset[str]]:
        """Refs per active number, only blocks made by the number's current holder."""
        q = (
            select(NumberBlock.number, NumberBlock.caller_ref)
            .join(
                NumberRecord,
                (NumberRecord.number == NumberBlock.number)
                & (NumberRecord.owner_id == NumberBlock.owner_id),
            )
            .where(NumberRecord.status == NumberStatus.ACTIVE.value)
        )
        if number is not None:
            q = q.where(NumberBlock.number == number)
        found: dict[str, set[str]] = {}
        for digits, ref in self.session.execute(q):
            found.setdefault(digits, set()).add(ref)
        return {digits: frozenset(refs) for digits, refs in found.items()}

    def delete_number_block(self, block_id: int) -> None:
        self.session.execute(delete(NumberBlock).where(NumberBlock.id == block_id))

    def global_keys(self, now: datetime) -> frozenset[str]:
        """Keys of the blocks in force at ``now``: permanent ones and unexpired ones."""
        q = select(GlobalBlock.caller_key).where(
            or_(GlobalBlock.expires_at.is_(None), GlobalBlock.expires_at > now)
        )
        return frozenset(self.session.scalars(q))

    def global_by_key(self, caller_key: str) -> GlobalBlock | None:
        q = select(GlobalBlock).where(GlobalBlock.caller_key == caller_key)
        return self.session.scalars(q).first()

    def global_page(self, after: int | None, limit: int) -> list[GlobalBlock]:
        q = select(GlobalBlock).order_by(GlobalBlock.id).limit(limit)
        if after is not None:
            q = q.where(GlobalBlock.id > after)
        return list(self.session.scalars(q))

    def delete_global(self, block_id: int) -> bool:
        result = self.session.execute(delete(GlobalBlock).where(GlobalBlock.id == block_id))
        return bool(getattr(result, "rowcount", 0))

    def delete_expired(self, now: datetime) -> list[int]:
        """Delete blocks that expired by ``now`` (one statement: a block extended
        concurrently is re-checked, not lost); returns their ids."""
        q = (
            delete(GlobalBlock)
            .where(GlobalBlock.expires_at <= now)
            .returning(GlobalBlock.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(self.session.scalars(q))


class BlockService:
    def __init__(
        self, session: Session, clock: Callable[[], datetime], actor: str = "system"
    ) -> None:
        self.repo = BlockRepository(session)
        self.records = CallRecords(session)
        self._audit = NumberRepository(session).audit
        self._clock = clock
        self._actor = actor[:64]
        self._session = session

    # the driver ------------------------------------------------------------
    def calls(
        self,
        owner_id: str,
        before: tuple[datetime, int] | None,
        limit: int,
        number: SafeNumber | None = None,
    ) -> list[CallRecordView]:
        """The driver's call records, newest first, each saying if the caller is blocked."""
        rows = self.records.of_owner(owner_id, before, limit, number)
        blocked = {(b.number, b.caller_ref) for b in self.repo.number_blocks_of(owner_id)}
        return [replace(r, caller_blocked=(r.number.digits, r.caller_ref) in blocked) for r in rows]

    def block_from_record(self, owner_id: str, record_id: int) -> BlockView:
        """Block the caller of one of my records on that number (again: the same block)."""
        record = self._my_record(owner_id, record_id)
        return self.block_reference(owner_id, record.number, record.caller_ref, field="record_id")

    def unblock_from_record(self, owner_id: str, record_id: int) -> None:
        """Unblock the caller of one of my records; unblocking twice is no error."""
        record = self._my_record(owner_id, record_id)
        self.unblock_reference(owner_id, record.number, record.caller_ref)

    def block_reference(
        self, owner_id: str, number: SafeNumber, caller_ref: str, *, field: str = "caller_ref"
    ) -> BlockView:
        """Block the caller (or texter) ``caller_ref`` on my ``number``; again: the same block.

        The reference comes from one of my records (a call or a text), never from a
        client. ``number`` must be mine now: a former holder's record blocks nothing.
        """
        ref = _blockable(caller_ref, field)
        digits = number.digits
        if self.repo.holder_of(digits) != owner_id:
            raise NotFound(f"{number.national} is not one of your numbers", field=field)
        row = self.repo.number_block(digits, ref)
        if row is None or row.owner_id != owner_id:
            if row is not None:  # left by a former holder of the number
                self.repo.delete_number_block(row.id)
            row = NumberBlock(
                number=digits, caller_ref=ref, owner_id=owner_id, created_at=self._clock()
            )
            if not self.repo.insert(row):  # a concurrent request blocked it first
                existing = self.repo.number_block(digits, ref)
                assert existing is not None
                return _block_view(existing)
            self._audit(self._clock(), self._actor, "call.blocked", digits, {"block": row.id})
            self._changed(number)
        return _block_view(row)

    def unblock_reference(self, owner_id: str, number: SafeNumber, caller_ref: str) -> None:
        """Unblock ``caller_ref`` on ``number`` if I blocked it; twice is no error."""
        row = self.repo.number_block(number.digits, caller_ref)
        if row is not None and row.owner_id == owner_id:
            self._remove(row)

    def blocks_of(self, owner_id: str) -> list[BlockView]:
        return [_block_view(row) for row in self.repo.number_blocks_of(owner_id)]

    def unblock(self, owner_id: str, block_id: int) -> None:
        """Remove one of my blocks by id (the record may have been purged since)."""
        row = next((b for b in self.repo.number_blocks_of(owner_id) if b.id == block_id), None)
        if row is None:
            raise NotFound(f"no block {block_id}", field="block_id")
        self._remove(row)

    # the operators ---------------------------------------------------------
    def block_globally(
        self, *, record_id: int | None = None, caller_key: str | None = None, note: str = ""
    ) -> GlobalBlockView:
        """Block a caller on every number, by a record or by the caller key itself."""
        if (record_id is None) == (caller_key is None):
            raise InvalidValue("give either record_id or caller_key", field="record_id")
        if record_id is not None:
            record = self.records.get(record_id)
            if record is None:
                raise NotFound(f"no call record {record_id}", field="record_id")
            key = _blockable(record.caller_key or "", "record_id")
        else:
            key = caller_key or ""
            if not REFERENCE.match(key):
                raise InvalidValue("must be 20 lower-case hex digits", field="caller_key")
        row = self.repo.global_by_key(key)
        if row is None:
            now = self._clock()
            row = GlobalBlock(
                caller_key=key, note=note[:200], created_at=now, created_by=self._actor
            )
            if self.repo.insert(row):
                self._audit(now, self._actor, "caller.blocked_globally", f"global-block:{row.id}")
                self._global_changed()
                return _global_view(row)
            row = self.repo.global_by_key(key)  # a concurrent writer blocked it first
            assert row is not None
        if row.expires_at is not None:  # blocked automatically: the operators' block stays
            row.expires_at = None
            row.created_at = self._clock()
            row.created_by = self._actor
            row.note = note[:200] or row.note
            self._audit(
                row.created_at, self._actor, "caller.blocked_globally", f"global-block:{row.id}"
            )
            self._global_changed()
        return _global_view(row)

    def auto_block(self, caller_key: str, until: datetime, note: str) -> bool:
        """Block a number-sweeping caller on every number until ``until``.

        Idempotent: an operator's block is left as it is; an automatic one is
        extended (never shortened) and an expired one revived. Returns True when the
        set of replicated keys changed, i.e. AstDB must follow after commit.
        """
        if not REFERENCE.match(caller_key):
            raise CallerNotBlockable(
                "only a caller key of 20 hex digits can be blocked", field="caller_key"
            )
        now = self._clock()
        if until <= now:
            return False
        row = self.repo.global_by_key(caller_key)
        if row is None:
            row = GlobalBlock(
                caller_key=caller_key,
                note=note[:200],
                created_at=now,
                created_by=AUTO,
                expires_at=until,
            )
            if self.repo.insert(row):
                self._audit_auto(now, row)
                return True
            row = self.repo.global_by_key(caller_key)  # a concurrent writer blocked it first
            assert row is not None
        if row.expires_at is None:  # the operators' block: permanent already
            return False
        revived = row.expires_at <= now
        if revived:  # expired, not yet swept: a new block in the same row
            row.created_at = now
        if revived or until > row.expires_at:
            row.expires_at = until
            row.note = note[:200]
        if revived:
            self._audit_auto(now, row)
        return revived

    def expire_auto_blocks(self, now: datetime) -> int:
        """Delete automatic blocks that ended by ``now``; returns how many."""
        removed = self.repo.delete_expired(now)
        for block_id in removed:
            self._audit(now, self._actor, "caller.block_expired", f"global-block:{block_id}")
        if removed:
            self._global_changed()
        return len(removed)

    def global_blocks(self, after: int | None, limit: int) -> list[GlobalBlockView]:
        return [_global_view(row) for row in self.repo.global_page(after, limit)]

    def unblock_globally(self, block_id: int) -> None:
        if not self.repo.delete_global(block_id):
            raise NotFound(f"no global block {block_id}", field="block_id")
        now = self._clock()
        self._audit(now, self._actor, "caller.unblocked_globally", f"global-block:{block_id}")
        self._global_changed()

    # the replica -----------------------------------------------------------
    def replica_values(self) -> Blocks:
        return Blocks(self.repo.replicated(), self.repo.global_keys(self._clock()))

    def current(self, number: SafeNumber) -> frozenset[str]:
        """Refs blocked on ``number`` now (empty unless it is active)."""
        return self.repo.replicated(number.digits).get(number.digits, frozenset())

    def global_keys(self) -> frozenset[str]:
        return self.repo.global_keys(self._clock())

    # --------------------------------------------------------------------
    def _my_record(self, owner_id: str, record_id: int) -> CallRecordView:
        record = self.records.of_owner_by_id(owner_id, record_id)
        if record is None:  # another driver's record answers like a missing one
            raise NotFound(f"no call record {record_id}", field="record_id")
        return record

    def _remove(self, row: NumberBlock) -> None:
        number = SafeNumber(row.number)
        self.repo.delete_number_block(row.id)
        self._audit(self._clock(), self._actor, "call.unblocked", row.number, {"block": row.id})
        self._changed(number)

    def _audit_auto(self, now: datetime, row: GlobalBlock) -> None:
        detail = {"until": row.expires_at, "note": row.note}
        self._audit(now, AUTO, "caller.blocked_automatically", f"global-block:{row.id}", detail)
        self._global_changed()

    def _changed(self, number: SafeNumber) -> None:
        record_number(self._session, number, at=self._clock())

    def _global_changed(self) -> None:
        record(self._session, ChangeKind.GLOBAL_BLOCKS, at=self._clock())


def _blockable(reference: str, field: str) -> str:
    if not REFERENCE.match(reference):
        raise CallerNotBlockable(
            "this caller cannot be blocked: the number was withheld"
            if reference == "anonymous"
            else "there is no caller to block here (a reply of yours, or a record kept "
            "without a caller reference)",
            field=field,
        )
    return reference


def _block_view(row: NumberBlock) -> BlockView:
    return BlockView(row.id, SafeNumber(row.number).national, row.caller_ref, row.created_at)


def _global_view(row: GlobalBlock) -> GlobalBlockView:
    return GlobalBlockView(
        row.id, row.caller_key, row.note, row.created_at, row.created_by, row.expires_at
    )
