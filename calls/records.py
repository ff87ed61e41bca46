"""Call records: written by the bridge from the state machine, read by the API.

Services ``flush()``, never ``commit()``: the caller owns the transaction. A driver
sees the records of the numbers they hold, from the day they got them, newest first
(keyset pages on ``(started_at, id)``); operators page all of them by ``id``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from calls.facts import CallFacts, Outcome
from calls.models import CallRecord
from numbering.models import NumberRecord
from numbering.reports import CallTally
from numbering.types import SafeNumber

_COUNTED = (Outcome.ANSWERED.value, Outcome.BLOCKED.value)


@dataclass(frozen=True)
class CallRecordView:
    """One call; the caller only as opaque references (``caller_key``: operators only)."""

    id: int
    call_id: str
    number: SafeNumber
    caller_ref: str
    kind: str
    outcome: str
    text_sent: bool
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    duration_seconds: int
    caller_key: str | None = None
    caller_blocked: bool = False
    """Whether the driver blocked this caller on this number (set by ``BlockService.calls``)."""


def _view(row: CallRecord) -> CallRecordView:
    return CallRecordView(
        row.id,
        row.call_id,
        SafeNumber(row.number),
        row.caller_ref,
        row.kind,
        row.outcome,
        row.text_sent,
        row.started_at,
        row.answered_at,
        row.ended_at,
        row.duration_seconds,
        row.caller_key,
    )


class CallRecords:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, facts: CallFacts, source: str) -> bool:
        """Store one finished call unless its tag is already stored; True if added."""
        if facts.started is None or facts.ended is None or len(facts.number) != 12:
            raise ValueError(f"call {facts.call_id} is incomplete")
        exists = select(CallRecord.id).where(CallRecord.call_id == facts.call_id)
        if self._session.execute(exists).first() is not None:
            return False
        row = CallRecord(
            call_id=facts.call_id,
            number=facts.number,
            caller_ref=facts.caller_ref[:20],
            caller_key=facts.caller_key[:20] or None,
            kind=facts.kind,
            outcome=str(facts.outcome),
            text_sent=facts.text_sent,
            started_at=facts.started,
            answered_at=facts.answered,
            ended_at=facts.ended,
            duration_seconds=facts.duration_seconds,
            source=source,
        )
        try:
            with self._session.begin_nested():
                self._session.add(row)
                self._session.flush()
        except IntegrityError:
            return False  # the other path (events vs spool) stored it first
        return True

    def for_numbers(
        self, numbers: Iterable[SafeNumber], since: datetime | None = None, limit: int = 100
    ) -> list[CallRecordView]:
        """Newest first, for the numbers of one driver."""
        digits = [n.digits for n in numbers]
        query = select(CallRecord).where(CallRecord.number.in_(digits))
        if since is not None:
            query = query.where(CallRecord.started_at >= since)
        query = query.order_by(CallRecord.started_at.desc(), CallRecord.id.desc()).limit(limit)
        return [_view(row) for row in self._session.scalars(query)]

    def of_owner(
        self,
        owner_id: str,
        before: tuple[datetime, int] | None = None,
        limit: int = 50,
        number: SafeNumber | None = None,
    ) -> list[CallRecordView]:
        """Newest first: records of the numbers ``owner_id`` holds, since each was issued.

        ``before`` is the ``(started_at, id)`` of the last record of the previous page.
        """
        query = select(CallRecord).join(
            NumberRecord,
            and_(
                NumberRecord.number == CallRecord.number,
                NumberRecord.owner_id == owner_id,
                CallRecord.started_at >= NumberRecord.issued_at,
            ),
        )
        if number is not None:
            query = query.where(CallRecord.number == number.digits)
        if before is not None:
            at, last_id = before
            query = query.where(
                or_(
                    CallRecord.started_at < at,
                    and_(CallRecord.started_at == at, CallRecord.id < last_id),
                )
            )
        query = query.order_by(CallRecord.started_at.desc(), CallRecord.id.desc()).limit(limit)
        return [_view(row) for row in self._session.scalars(query)]

    def of_owner_by_id(self, owner_id: str, record_id: int) -> CallRecordView | None:
        """One record, only if ``of_owner`` would list it (else None, like a missing one)."""
        query = (
            select(CallRecord)
            .join(
                NumberRecord,
                and_(
                    NumberRecord.number == CallRecord.number,
                    NumberRecord.owner_id == owner_id,
                    CallRecord.started_at >= NumberRecord.issued_at,
                ),
            )
            .where(CallRecord.id == record_id)
        )
        row = self._session.scalars(query).first()
        return _view(row) if row is not None else None

    def get(self, record_id: int) -> CallRecordView | None:
        row = self._session.get(CallRecord, record_id)
        return _view(row) if row is not None else None

    def page(
        self,
        after: int | None,
        limit: int,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[CallRecordView]:
        """All records in ``id`` order (the operators' export); ``until`` is exclusive."""
        query = select(CallRecord)
        if after is not None:
            query = query.where(CallRecord.id > after)
        if since is not None:
            query = query.where(CallRecord.started_at >= since)
        if until is not None:
            query = query.where(CallRecord.started_at < until)
        query = query.order_by(CallRecord.id).limit(limit)
        return [_view(row) for row in self._session.scalars(query)]

    def tallies(self, since: datetime) -> list[CallTally]:
        """What the daily statistics count: bridged, blocked and texted calls since ``since``."""
        query = select(
            CallRecord.started_at, CallRecord.number, CallRecord.outcome, CallRecord.text_sent
        ).where(
            CallRecord.started_at >= since,
            or_(CallRecord.outcome.in_(_COUNTED), CallRecord.text_sent),
        )
        return [CallTally(*row) for row in self._session.execute(query)]

    def purge_before(self, cutoff: datetime) -> int:
        """Delete records that started before ``cutoff`` (retention)."""
        result = self._session.execute(delete(CallRecord).where(CallRecord.started_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
