"""Operator reports read from the append-only audit log: daily statistics, audit pages.

Counts per day (Asia/Seoul) and per agreement. "Active" at the end of a day is worked
back from today's live count: live now, minus numbers issued since, plus numbers
released since; the audit log is complete, so this is exact. Call counts come from
call records (passed in as ``calls``, so this module does not depend on the call
side): calls bridged (answered), calls blocked, and move-car texts sent from the
call menu, which add to the public page's requests in ``move_car_texts``. Text counts
come from text records (passed in as ``texts``), incoming texts only, replies not:
``texts_delivered`` counts those that reached the driver (``delivered``, ``released``),
``texts_blocked`` those the filter or a block kept back, by filter category
(``blocked``, ``released``: a released text was blocked first). Pending, lost and
unroutable texts count in neither. Without a source, its counts are ``None``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from numbering.agreements import SEOUL
from numbering.errors import InvalidValue
from numbering.models import Pool
from numbering.repository import NumberRepository
from numbering.views import _View

ISSUED = "number.issued"
RELEASED = ("number.released", "number.expired")
MOVE_CAR = "number.move_car_requested"
MAX_DAYS = 366
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True, slots=True)
class CallTally:
    """The part of one call record the statistics count."""

    started_at: datetime
    number: str
    outcome: str
    text_sent: bool


CallSource = Callable[[datetime], Iterable[CallTally]]
"""Call records that started at or after the given instant."""


@dataclass(frozen=True, slots=True)
class TextTally:
    """The part of one incoming text record the statistics count."""

    received_at: datetime
    number: str
    status: str
    category: str


TextSource = Callable[[datetime], Iterable[TextTally]]
"""Incoming texts (replies left out) received at or after the given instant."""

TEXT_DELIVERED = ("delivered", "released")
TEXT_BLOCKED = ("blocked", "released")


@dataclass(frozen=True, slots=True)
class DayStats(_View):
    day: date
    agreement_id: int | None
    numbers_issued: int
    numbers_active: int
    move_car_texts: int
    calls_bridged: int | None = None
    calls_blocked: int | None = None
    texts_delivered: int | None = None
    texts_blocked: dict[str, int] | None = None


@dataclass(frozen=True, slots=True)
class AuditView(_View):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, object]


def seoul_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SEOUL)


def check_days(since: date | None, until: date | None) -> None:
    for name, value in (("since", since), ("until", until)):
        if value is not None and not FIRST_DAY <= value <= LAST_DAY:
            raise InvalidValue(f"{name} must be between 2000 and 2999", field=name)


class Reports:
    """Operators' reports. Calls and texts are counted by their own packages, which
    depend on this one: the composition root passes their tallies in
    (``Core.reports``)."""

    def __init__(
        self,
        repo: NumberRepository,
        calls: CallSource | None = None,
        texts: TextSource | None = None,
    ) -> None:
        self.repo = repo
        self.calls = calls
        self.texts = texts

    def audit_page(
        self, after: int | None, limit: int, since: date | None = None, until: date | None = None
    ) -> list[AuditView]:
        check_days(since, until)
        rows = self.repo.audit_page(
            after,
            limit,
            seoul_midnight(since) if since else None,
            seoul_midnight(until + timedelta(days=1)) if until else None,
        )
        return [
            AuditView(r.id, r.at, r.actor, r.action, r.subject, json.loads(r.detail)) for r in rows
        ]

    def daily(
        self,
        since: date | None,
        until: date | None,
        now: datetime,
        agreement_id: int | None = None,
    ) -> list[DayStats]:
        """Defaults: the 7 days up to today (Asia/Seoul). Without ``calls``, call counts
        are ``None``; without ``texts``, text counts."""
        calls, texts = self.calls, self.texts
        check_days(since, until)
        until = until or now.astimezone(SEOUL).date()
        since = since or until - timedelta(days=6)
        if until < since:
            raise InvalidValue("until is before since", field="until")
        if (until - since).days >= MAX_DAYS:
            raise InvalidValue(f"at most {MAX_DAYS} days per request", field="until")
        pools = self.repo.pools()
        agreements = sorted({p.agreement_id for p in pools}, key=lambda a: (a is not None, a))
        if agreement_id is not None:
            agreements = [agreement_id]
        pool_agreement = {p.id: p.agreement_id for p in pools}
        issued: Counter[tuple[date, int | None]] = Counter()
        released: Counter[tuple[date, int | None]] = Counter()
        move_car: Counter[tuple[date, int | None]] = Counter()
        actions = (ISSUED, *RELEASED, MOVE_CAR)
        for entry in self.repo.audit_since(actions, seoul_midnight(since)):
            day = entry.at.astimezone(SEOUL).date()
            if entry.action == ISSUED:
                pool_id = json.loads(entry.detail).get("pool")
                issued[day, pool_agreement.get(pool_id)] += 1
            elif entry.action in RELEASED:
                released[day, _agreement_of(pools, entry.subject)] += 1
            else:
                move_car[day, _agreement_of(pools, entry.subject)] += 1
        bridged: Counter[tuple[date, int | None]] = Counter()
        blocked: Counter[tuple[date, int | None]] = Counter()
        for call in calls(seoul_midnight(since)) if calls else ():
            key = call.started_at.astimezone(SEOUL).date(), _agreement_of(pools, call.number)
            bridged[key] += call.outcome == "answered"
            blocked[key] += call.outcome == "blocked"
            move_car[key] += call.text_sent
        delivered: Counter[tuple[date, int | None]] = Counter()
        kept: dict[tuple[date, int | None], Counter[str]] = {}
        for text in texts(seoul_midnight(since)) if texts else ():
            key = text.received_at.astimezone(SEOUL).date(), _agreement_of(pools, text.number)
            delivered[key] += text.status in TEXT_DELIVERED
            if text.status in TEXT_BLOCKED:
                kept.setdefault(key, Counter())[text.category] += 1
        live_now = {a: self.repo.live_in_agreement(a) for a in agreements}
        today = now.astimezone(SEOUL).date()
        out: list[DayStats] = []
        for a in agreements:
            # Walk backwards from today so "active" is exact for every day.
            active = live_now[a]
            per_day: dict[date, int] = {}
            day = today
            while day >= since:
                per_day[day] = active
                active += released[day, a] - issued[day, a]
                day -= timedelta(days=1)
            day = since
            while day <= until:
                out.append(
                    DayStats(
                        day,
                        a,
                        issued[day, a],
                        per_day.get(day, live_now[a]) if day <= today else live_now[a],
                        move_car[day, a],
                        bridged[day, a] if calls else None,
                        blocked[day, a] if calls else None,
                        delivered[day, a] if texts else None,
                        dict(sorted(kept.get((day, a), Counter()).items())) if texts else None,
                    )
                )
                day += timedelta(days=1)
        return out


def _agreement_of(pools: Sequence[Pool], digits: str) -> int | None:
    for pool in pools:
        if (
            digits.startswith(pool.prefix)
            and digits[4:].isdigit()
            and pool.range_start <= int(digits[4:]) <= pool.range_end
        ):
            return pool.agreement_id
    return None
