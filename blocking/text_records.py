"""Text records: every text relayed through a safe number, and what became of it.

A text is judged once, when the bridge takes it from Asterisk's spool, and stored
before anything is sent, so a crash between the two re-sends rather than loses it.
Nothing is silently dropped: a blocked text is kept (``blocked``) for the driver and
operators to review and release; a text to a number that is not active is refused
and never stored; a text Asterisk received without its body (longer than Asterisk
can carry) is stored as ``lost`` so the driver at least learns one arrived.

Bodies and the other party's number are sealed with the number holder's data key
(AES-GCM, context-bound to the record), so deleting the holder's account shreds them.
The other party is otherwise only the opaque per-number reference the dialplan also
computes for calls (``peer_ref``), so a driver blocks a texter like a caller.

Services ``flush()``, never ``commit()``: the caller owns the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import (
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from blocking.models import GlobalBlock, NumberBlock, TextRecord
from blocking.types import Category, Decision, Verdict
from numbering.crypto import DataKey, Keyring
from numbering.errors import DomainError
from numbering.models import NumberRecord, NumberStatus, Owner, Route
from numbering.outbox import ChangeKind, record
from numbering.reports import TextTally
from numbering.types import OwnerPhone, SafeNumber

Status = Literal["pending", "delivered", "blocked", "released", "no-recipient", "lost"]
SHOWN_TO_DRIVER = ("delivered", "blocked", "released", "lost", "pending")


@dataclass(frozen=True, slots=True)
class InboundText:
    """What the bridge read from the spool (``sender``: national digits or None)."""

    spool_id: str
    number: SafeNumber
    received_at: datetime
    sender: str | None
    body: str
    declared_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Send:
    """A text to put on the wire now: ``body`` to the phone ``to``, from ``number``."""

    record_id: int
    to: str  # national digits
    number: SafeNumber
    body: str


@dataclass(frozen=True, slots=True)
class TextView:
    """One text for the API. ``body`` is opened for the holder and operators only."""

    id: int
    number: SafeNumber
    direction: str
    peer_ref: str
    status: str
    category: str
    score: float
    reasons: tuple[str, ...]
    body: str
    received_at: datetime
    handled_at: datetime | None
    released_at: datetime | None
    peer_key: str | None = None
    model: str = ""
    """Version of the filter model that judged the text (empty: none did, e.g. a reply)."""


class TextNotFound(DomainError):
    status = 404
    error_id = "text-not-found"


class TextNotBlocked(DomainError):
    status = 409
    error_id = "text-not-blocked"


Judge = Callable[[str, str | None, SafeNumber], Verdict]
"""The filter with sender history: (body, sender national digits, safe number)."""

JudgeMany = Callable[[Sequence[tuple[str, str | None, SafeNumber]]], list[Verdict]]
""":data:`Judge` of several texts at once, in order (one filter pass)."""

Refs = Callable[[SafeNumber, str | None], tuple[str, str]]
"""(number, sender) -> (per-number reference, number-independent key), as the dialplan."""


@dataclass(slots=True)
class _Taken:
    """A text new to the records, while its batch is judged: its outcome is preset
    (a reply, a lost body, a blocked sender) or left to the filter (``verdict`` None)."""

    index: int
    row: TextRecord
    target: str | None
    status: Status | None = None
    verdict: Verdict | None = None


CLAIM_LEASE = timedelta(seconds=60)
"""How long a relay's claim on a pending text holds; after it, any relay sends it."""


class TextService:
    """Text records. ``node`` names the relay that uses it: a text it is to send is
    claimed for ``lease``, so that relays of several Asterisk nodes never send the same
    pending text at once (a relay that dies mid-send loses its claim when it ends)."""

    def __init__(
        self,
        session: Session,
        keyring: Keyring,
        clock: Callable[[], datetime],
        *,
        node: str | None = None,
        lease: timedelta = CLAIM_LEASE,
    ):
        self.session = session
        self.keyring = keyring
        self.clock = clock
        self.node = node
        self.lease = lease

    # receiving -----------------------------------------------------------------
    def receive(self, text: InboundText, judge: Judge, refs: Refs) -> Send | None:
        """Judge and store ``text``; what to send now, or None (blocked, refused, done).

        Idempotent per spool id: a text already stored is not judged again; if it is
        still ``pending`` (stored, not yet confirmed sent) it is sent again.
        """
        return self.receive_many([text], lambda items: [judge(*i) for i in items], refs)[0]

    def receive_many(
        self, texts: Sequence[InboundText], judge: JudgeMany, refs: Refs
    ) -> list[Send | None]:
        """:meth:`receive` for a batch in the caller's one transaction: what to send for
        each text, in order. The texts to judge go to ``judge`` in one call, in order."""
        live = self._live_many({t.number for t in texts})
        existing = {
            r.spool_id: r
            for r in self.session.scalars(
                select(TextRecord).where(TextRecord.spool_id.in_([t.spool_id for t in texts]))
            )
        }
        peers = [refs(t.number, t.sender) for t in texts]
        blocked = self._blocked_many(live, peers)
        out: list[Send | None] = [None] * len(texts)
        taken: list[_Taken] = []
        for i, text in enumerate(texts):
            if text.spool_id in existing:
                out[i] = self._claim(existing[text.spool_id])
            elif text.number in live:
                taken.append(self._classify(i, text, live[text.number], peers[i], blocked))
                existing[text.spool_id] = taken[-1].row  # a repeat in the batch: not again
            # else refused: unknown, paused or released
        judged = [t for t in taken if t.verdict is None]
        verdicts = judge(
            [(texts[t.index].body, texts[t.index].sender, texts[t.index].number) for t in judged]
        )
        for t, verdict in zip(judged, verdicts, strict=True):
            t.verdict, t.status = verdict, "blocked" if verdict.blocked else "pending"
        for t in taken:
            self._fill(t)
        self.session.add_all([t.row for t in taken])
        self.session.flush()
        for t in taken:
            if t.status == "pending" and t.target is not None:
                out[t.index] = Send(t.row.id, t.target, texts[t.index].number, texts[t.index].body)
        return out

    def _classify(
        self,
        index: int,
        text: InboundText,
        live: tuple[Owner, DataKey, OwnerPhone],
        peer: tuple[str, str],
        blocked: set[tuple[str, ...]],
    ) -> _Taken:
        """A new record for ``text``, and its outcome unless the filter is to decide."""
        owner, dek, driver = live
        ref, key = peer
        row = TextRecord(
            spool_id=text.spool_id,
            number=text.number.digits,
            owner_id=owner.id,
            direction="in",
            peer_ref=ref,
            peer_key=None if text.sender is None else key,
            peer_ct=None
            if text.sender is None
            else dek.seal(text.sender, f"text-peer:{text.spool_id}"),
            body_ct=dek.seal(text.body, f"text-body:{text.spool_id}"),
            body_bytes=len(text.body.encode()),
            received_at=text.received_at,
        )
        if text.sender is not None and text.sender == driver.national_digits:
            row.direction = "reply"
            row.peer_ref, row.peer_key, row.peer_ct = "driver", None, None
            target = self._last_sender(text.number, owner.id, dek)
            verdict = Verdict(Decision.DELIVER, Category.HAM, 0.0, ("the driver's reply",))
            return _Taken(index, row, target, "pending" if target else "no-recipient", verdict)
        if not text.body and text.declared_bytes > 0:
            size = text.declared_bytes
            why = f"a {size}-byte text arrived without its body (too long)"
            return _Taken(
                index, row, None, "lost", Verdict(Decision.BLOCK, Category.HAM, 0.0, (why,))
            )
        if (text.number.digits, owner.id, ref) in blocked or (key,) in blocked:
            why = "the sender is blocked"
            return _Taken(
                index, row, None, "blocked", Verdict(Decision.BLOCK, Category.SPAM, 1.0, (why,))
            )
        return _Taken(index, row, driver.national_digits)  # the filter decides

    def _fill(self, taken: _Taken) -> None:
        row, verdict, status = taken.row, taken.verdict, taken.status
        assert verdict is not None
        assert status is not None
        if status != "pending":
            taken.target = None
        row.status = status
        row.category = verdict.category.value
        row.score = round(verdict.score, 4)
        row.reasons = json.dumps(list(verdict.reasons), ensure_ascii=False)
        row.filter_model = verdict.model
        row.handled_at = None if status == "pending" else self.clock()
        if status == "pending" and self.node is not None:
            row.claimed_by, row.claimed_until = self.node, self.clock() + self.lease

    def delivered(self, *record_ids: int) -> None:
        """Mark these pending texts sent (``released`` when a reviewer let them out)."""
        self.session.execute(
            update(TextRecord)
            .where(TextRecord.id.in_(record_ids), TextRecord.status == "pending")
            .values(
                status=case((TextRecord.released_at.is_(None), "delivered"), else_="released"),
                handled_at=self.clock(),
                claimed_by=None,
                claimed_until=None,
            )
            .execution_options(synchronize_session="fetch")
        )

    def pending(self, limit: int = 100) -> list[Send]:
        """Texts stored but not confirmed sent (released ones included), oldest first,
        that no other relay holds a current claim on; claimed for this one."""
        now = self.clock()
        query = (
            select(TextRecord)
            .where(TextRecord.status == "pending")
            .where(
                or_(
                    TextRecord.claimed_until.is_(None),
                    TextRecord.claimed_until <= now,
                    TextRecord.claimed_by == self.node,
                )
            )
            .order_by(TextRecord.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [s for s in map(self._claim, self.session.scalars(query)) if s is not None]

    def _claim(self, row: TextRecord) -> Send | None:
        """``row`` to send now if it is pending and not held by another relay's claim."""
        now = self.clock()
        if row.status != "pending":
            return None
        if row.claimed_by not in (None, self.node) and (row.claimed_until or now) > now:
            return None
        if self.node is not None:
            row.claimed_by, row.claimed_until = self.node, now + self.lease
            self.session.flush()
        return self._pending_send(row)

    # review -----------------------------------------------------------------------
    def release(self, record_id: int, actor: str, owner_id: str | None = None) -> Send:
        """Let a blocked text through: it becomes ``pending`` and is sent by the caller
        (then :meth:`delivered`). ``owner_id`` limits a driver to their own texts."""
        row = self._row(record_id, owner_id)
        if row.status != "blocked":
            raise TextNotBlocked(f"text {record_id} is {row.status}, not blocked")
        row.status = "pending"
        row.released_at = self.clock()
        row.released_by = actor
        self.session.flush()
        record(self.session, ChangeKind.TEXTS, str(row.id), at=row.released_at)
        send = self._pending_send(row)
        if send is None:
            raise TextNotFound(f"text {record_id}: its number has no active route")
        return send

    def of_owner(self, owner_id: str, limit: int = 50, before: int | None = None) -> list[TextView]:
        query = select(TextRecord).where(
            TextRecord.owner_id == owner_id, TextRecord.status.in_(SHOWN_TO_DRIVER)
        )
        if before is not None:
            query = query.where(TextRecord.id < before)
        rows = self.session.scalars(query.order_by(TextRecord.id.desc()).limit(limit))
        return [self._view(r, with_key=False) for r in rows]

    def blocked_page(self, limit: int = 50, before: int | None = None) -> list[TextView]:
        """Operators' review queue: blocked texts, newest first."""
        query = select(TextRecord).where(TextRecord.status == "blocked")
        if before is not None:
            query = query.where(TextRecord.id < before)
        rows = self.session.scalars(query.order_by(TextRecord.id.desc()).limit(limit))
        return [self._view(r, with_key=True) for r in rows]

    def show(self, record_id: int, owner_id: str | None = None) -> TextView:
        return self._view(self._row(record_id, owner_id), with_key=owner_id is None)

    def caller_ref_of(self, owner_id: str, record_id: int) -> tuple[SafeNumber, str]:
        """The number and sender reference of one of the driver's incoming texts."""
        row = self._row(record_id, owner_id)
        return SafeNumber(row.number), row.peer_ref

    def by_category(
        self, since: datetime, until: datetime | None = None
    ) -> dict[str, dict[str, int]]:
        """Incoming texts received in [``since``, ``until``): {category: {status: count}}."""
        query = select(TextRecord.category, TextRecord.status, func.count()).where(
            TextRecord.direction == "in", TextRecord.received_at >= since
        )
        if until is not None:
            query = query.where(TextRecord.received_at < until)
        rows = self.session.execute(query.group_by(TextRecord.category, TextRecord.status))
        out: dict[str, dict[str, int]] = {}
        for category, status, count in rows:
            out.setdefault(category, {})[status] = int(count)
        return out

    def tallies(self, since: datetime) -> list[TextTally]:
        """Incoming texts received at or after ``since``, for the daily statistics."""
        rows = self.session.execute(
            select(
                TextRecord.received_at, TextRecord.number, TextRecord.status, TextRecord.category
            ).where(TextRecord.direction == "in", TextRecord.received_at >= since)
        )
        return [TextTally(*row) for row in rows]

    def purge_before(self, cutoff: datetime) -> int:
        """Retention: delete texts received before ``cutoff`` (pending ones are kept)."""
        result = self.session.execute(
            sql_delete(TextRecord).where(
                TextRecord.received_at < cutoff, TextRecord.status != "pending"
            )
        )
        self.session.flush()
        return int(getattr(result, "rowcount", 0) or 0)

    # internals -------------------------------------------------------------------
    def _row(self, record_id: int, owner_id: str | None) -> TextRecord:
        row = self.session.get(TextRecord, record_id)
        if row is None or (owner_id is not None and row.owner_id != owner_id):
            raise TextNotFound(f"no text {record_id}")
        return row

    def _live(self, number: SafeNumber) -> tuple[Owner, DataKey, OwnerPhone] | None:
        """The holder of an active ``number``, their data key and their phone."""
        return self._live_many({number}).get(number)

    def _live_many(
        self, numbers: Collection[SafeNumber]
    ) -> dict[SafeNumber, tuple[Owner, DataKey, OwnerPhone]]:
        """:meth:`_live` of each active number among ``numbers`` (one query)."""
        found = self.session.execute(
            select(Owner, Route)
            .join(Route, Route.owner_id == Owner.id)
            .join(NumberRecord, NumberRecord.number == Route.number)
            .where(
                Route.number.in_([n.digits for n in numbers]),
                NumberRecord.status == NumberStatus.ACTIVE,
            )
        )
        out: dict[SafeNumber, tuple[Owner, DataKey, OwnerPhone]] = {}
        keys: dict[str, DataKey] = {}
        for owner, route in found:
            dek = keys.get(owner.id) or self.keyring.unwrap(owner.wrapped, owner.id)
            keys[owner.id] = dek
            phone = OwnerPhone(dek.open(route.target_ct, f"route:{route.number}"))
            out[SafeNumber(route.number)] = (owner, dek, phone)
        return out

    def _last_sender(self, number: SafeNumber, owner_id: str, dek: DataKey) -> str | None:
        row = self.session.scalar(
            select(TextRecord)
            .where(
                TextRecord.number == number.digits,
                TextRecord.owner_id == owner_id,
                TextRecord.direction == "in",
                TextRecord.status.in_(("delivered", "released")),
                TextRecord.peer_ct.is_not(None),
            )
            .order_by(TextRecord.id.desc())
            .limit(1)
        )
        if row is None or row.peer_ct is None:
            return None
        return dek.open(row.peer_ct, f"text-peer:{row.spool_id}")

    def _blocked_many(
        self,
        live: dict[SafeNumber, tuple[Owner, DataKey, OwnerPhone]],
        peers: Sequence[tuple[str, str]],
    ) -> set[tuple[str, ...]]:
        """Blocks that apply among ``peers`` (ref, key) on the ``live`` numbers:
        (number, owner id, ref) for a driver's block, (key,) for a global one."""
        numbers = [n.digits for n in live]
        by_driver = self.session.execute(
            select(NumberBlock.number, NumberBlock.owner_id, NumberBlock.caller_ref).where(
                NumberBlock.number.in_(numbers),
                NumberBlock.caller_ref.in_({ref for ref, _ in peers}),
            )
        )
        everywhere = self.session.scalars(
            select(GlobalBlock.caller_key).where(GlobalBlock.caller_key.in_({k for _, k in peers}))
        )
        return {tuple(r) for r in by_driver} | {(k,) for k in everywhere}

    def _pending_send(self, row: TextRecord) -> Send | None:
        if row.status != "pending":
            return None
        live = self._live(SafeNumber(row.number))
        if live is None or live[0].id != row.owner_id:
            return None
        owner, dek, driver = live
        body = dek.open(row.body_ct, f"text-body:{row.spool_id}")
        if row.direction == "reply":
            target = self._last_sender(SafeNumber(row.number), owner.id, dek)
            if target is None:
                return None
        else:
            target = driver.national_digits
        return Send(row.id, target, SafeNumber(row.number), body)

    def _view(self, row: TextRecord, with_key: bool) -> TextView:
        owner = self.session.get(Owner, row.owner_id)
        assert owner is not None  # the foreign key cascades
        dek = self.keyring.unwrap(owner.wrapped, owner.id)
        return TextView(
            id=row.id,
            number=SafeNumber(row.number),
            direction=row.direction,
            peer_ref=row.peer_ref,
            status=row.status,
            category=row.category,
            score=row.score,
            reasons=tuple(json.loads(row.reasons)),
            body=dek.open(row.body_ct, f"text-body:{row.spool_id}"),
            received_at=row.received_at,
            handled_at=row.handled_at,
            released_at=row.released_at,
            peer_key=row.peer_key if with_key else None,
            model=row.filter_model,
        )
