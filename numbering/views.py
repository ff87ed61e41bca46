"""What the numbering use cases return: plain, serialisable, real phones masked."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from typing import Any


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class _View:
    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))  # type: ignore[call-overload, no-any-return]


@dataclass(frozen=True, slots=True)
class PoolView(_View):
    id: int
    prefix: str
    range_from: str
    range_to: str
    size: int
    used: int
    agreement_id: int | None = None

    @property
    def fill(self) -> float:
        return self.used / self.size


@dataclass(frozen=True, slots=True)
class AgreementView(_View):
    id: int
    name: str
    district: str
    partner: str
    term_start: date
    term_end: date
    quota: int
    eligibility: str
    status: str
    live_numbers: int


@dataclass(frozen=True, slots=True)
class VehicleView(_View):
    id: int
    plate: str  # masked, e.g. 12가**56
    safe_number: str | None  # its live number, if any
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NumberView(_View):
    safe_number: str
    status: str
    owner_phone: str | None  # masked, e.g. 010-****-5678
    plate: str | None  # masked, e.g. 12가**56
    issued_at: datetime
    expires_at: datetime
    quarantine_until: datetime | None


@dataclass(frozen=True, slots=True)
class SweepResult(_View):
    released: int
    freed: int


@dataclass(frozen=True, slots=True)
class DestructionReceipt(_View):
    """Proof of what was destroyed; contains no personal data, so it can be kept forever."""

    receipt_id: str
    subject: str
    destroyed_at: datetime
    actor: str
    method: str
    destroyed: list[str] = field(default_factory=list)
    numbers_released: int = 0
    telephony: str = "not-checked"
    """``removed``: every registered Asterisk node has dropped its copies (routes, last
    callers); ``pending``: the nodes in ``telephony_pending`` have not yet;
    ``no-nodes``: no node holds a replica; ``not-checked``: not asked yet."""
    telephony_pending: list[str] = field(default_factory=list)

    def with_telephony(self, status: TelephonyStatus) -> DestructionReceipt:
        """This receipt, saying only what the bridges have confirmed."""
        if not status.nodes:
            return replace(self, telephony="no-nodes")
        if status.pending:
            return replace(self, telephony="pending", telephony_pending=list(status.pending))
        copies = (
            f"telephony copies (AstDB routes, preferences, blocks, last callers) on "
            f"{len(status.nodes)} Asterisk node(s)"
        )
        return replace(self, telephony="removed", destroyed=[*self.destroyed, copies])


@dataclass(frozen=True, slots=True)
class TelephonyStatus:
    """Which bridges (one per Asterisk node) have applied the outbox up to a change."""

    nodes: list[str]
    pending: list[str]
