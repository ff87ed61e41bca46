"""Per-number preferences of the driver: quiet hours (Asia/Seoul) and the move-car text.

Its own table and service so that the numbering service stays untouched. The
dialplan reads a replica of these in AstDB (``safenum/quiet/<number>`` =
``HHMM-HHMM``, ``safenum/text/<number>`` = ``off``), kept by the bridges like
the routes. Services ``flush()`` and record each changed number in the outbox
(``numbering.outbox``) in the same transaction; the request edge commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import Boolean, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from numbering.errors import InvalidValue, NotFound
from numbering.models import Base, NumberRecord, NumberStatus, UtcDateTime
from numbering.outbox import record_number
from numbering.types import SafeNumber

TIMEZONE = "Asia/Seoul"


class NumberPreferences(Base):
    __tablename__ = "number_preferences"

    number: Mapped[str] = mapped_column(
        ForeignKey("numbers.number", ondelete="CASCADE"), primary_key=True
    )
    quiet_start: Mapped[int | None] = mapped_column(Integer)  # minutes after 00:00, Seoul
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    move_text: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


@dataclass(frozen=True)
class PreferencesView:
    number: SafeNumber
    quiet_start: time | None
    quiet_end: time | None
    move_text: bool
    timezone: str = TIMEZONE

    @property
    def astdb_quiet(self) -> str | None:
        """``HHMM-HHMM`` for the dialplan, or None without quiet hours."""
        if self.quiet_start is None or self.quiet_end is None:
            return None
        return f"{self.quiet_start:%H%M}-{self.quiet_end:%H%M}"


def _minutes(value: time, field: str) -> int:
    if value.tzinfo is not None or value.second or value.microsecond:
        raise InvalidValue("quiet hours are whole minutes in Asia/Seoul", field=field)
    return value.hour * 60 + value.minute


def _time(minutes: int | None) -> time | None:
    return None if minutes is None else time(minutes // 60, minutes % 60)


class PreferencesService:
    def __init__(
        self, session: Session, clock: Callable[[], datetime], actor: str = "system"
    ) -> None:
        self._session = session
        self._clock = clock
        self._actor = actor

    def get(self, number: SafeNumber) -> PreferencesView:
        self._live(number)
        row = self._session.get(NumberPreferences, number.digits)
        return self._view(number, row)

    def set_quiet_hours(self, number: SafeNumber, start: time, end: time) -> PreferencesView:
        """Quiet from ``start`` to ``end`` every day (Asia/Seoul); may span midnight."""
        first, last = _minutes(start, "quiet_start"), _minutes(end, "quiet_end")
        if first == last:
            raise InvalidValue("quiet hours must not start and end at once", field="quiet_end")
        row = self._row(number)
        row.quiet_start, row.quiet_end = first, last
        return self._save(number, row)

    def clear_quiet_hours(self, number: SafeNumber) -> PreferencesView:
        row = self._row(number)
        row.quiet_start = row.quiet_end = None
        return self._save(number, row)

    def set_move_text(self, number: SafeNumber, enabled: bool) -> PreferencesView:
        row = self._row(number)
        row.move_text = enabled
        return self._save(number, row)

    def replica_values(self) -> dict[str, PreferencesView]:
        """Preferences of active numbers, by 12 digits: what AstDB should hold."""
        query = (
            select(NumberPreferences)
            .join(NumberRecord, NumberRecord.number == NumberPreferences.number)
            .where(NumberRecord.status == NumberStatus.ACTIVE.value)
        )
        return {
            row.number: self._view(SafeNumber(row.number), row)
            for row in self._session.scalars(query)
        }

    def current(self, number: SafeNumber) -> PreferencesView | None:
        """For the replica: the preferences of an active number, else None."""
        record = self._session.get(NumberRecord, number.digits)
        if record is None or record.status != NumberStatus.ACTIVE.value:
            return None
        return self._view(number, self._session.get(NumberPreferences, number.digits))

    # --------------------------------------------------------------------
    def _live(self, number: SafeNumber) -> NumberRecord:
        record = self._session.get(NumberRecord, number.digits)
        if record is None or record.status not in {s.value for s in NumberStatus.live()}:
            raise NotFound(f"no live safe number {number}")
        return record

    def _row(self, number: SafeNumber) -> NumberPreferences:
        self._live(number)
        row = self._session.get(NumberPreferences, number.digits)
        if row is None:
            row = NumberPreferences(number=number.digits, move_text=True)
            self._session.add(row)
        return row

    def _save(self, number: SafeNumber, row: NumberPreferences) -> PreferencesView:
        row.updated_at = self._clock()
        row.updated_by = self._actor[:64]
        self._session.flush()
        record_number(self._session, number, at=row.updated_at)
        return self._view(number, row)

    @staticmethod
    def _view(number: SafeNumber, row: NumberPreferences | None) -> PreferencesView:
        if row is None:
            return PreferencesView(number, None, None, True)
        return PreferencesView(number, _time(row.quiet_start), _time(row.quiet_end), row.move_text)
