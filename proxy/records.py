"""Call records: written by the bridge from the state machine, read by the API.

Services ``flush()``, never ``commit()``: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from numbering.types import SafeNumber
from proxy.models import CallRecord
from proxy.state import CallFacts


@dataclass(frozen=True)
class CallRecordView:
    """What a driver may see about one call (the caller only as an opaque reference)."""

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


def _view(row: CallRecord) -> CallRecordView:
    return CallRecordView(
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

    def purge_before(self, cutoff: datetime) -> int:
        """Delete records that started before ``cutoff`` (retention)."""
        result = self._session.execute(delete(CallRecord).where(CallRecord.started_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
