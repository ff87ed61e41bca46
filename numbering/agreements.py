"""Pilot agreements: who runs the pilot, for how long, and how many numbers it may hold.

Issuance asks ``issuable_pools`` which pools it may draw from: a pool outside any
agreement always; a pool under an agreement only while the agreement is active, today
(Asia/Seoul) is inside its term, and its live numbers are under the quota. The
agreement row is locked for the rest of the transaction, so two concurrent issues
cannot both take the last unit of quota.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from numbering.errors import (
    AgreementNotActive,
    AgreementQuotaReached,
    InvalidTransition,
    InvalidValue,
    NotFound,
)
from numbering.models import Agreement, AgreementStatus, Pool
from numbering.repository import NumberRepository
from numbering.views import AgreementView

SEOUL = ZoneInfo("Asia/Seoul")
Clock = Callable[[], datetime]

# Which status may follow which; "ended" is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    AgreementStatus.DRAFT: frozenset({AgreementStatus.ACTIVE, AgreementStatus.ENDED}),
    AgreementStatus.ACTIVE: frozenset({AgreementStatus.SUSPENDED, AgreementStatus.ENDED}),
    AgreementStatus.SUSPENDED: frozenset({AgreementStatus.ACTIVE, AgreementStatus.ENDED}),
    AgreementStatus.ENDED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    """What an operator sets on an agreement; every field is validated here."""

    name: str
    district: str
    partner: str
    term_start: date
    term_end: date
    quota: int
    eligibility: str = ""

    def check(self) -> None:
        for field in ("name", "district", "partner"):
            if not getattr(self, field).strip():
                raise InvalidValue(f"{field} is empty", field=field)
        if self.term_start > self.term_end:
            raise InvalidValue("term_end is before term_start", field="term_end")
        if self.quota < 0:
            raise InvalidValue("quota must be 0 or more", field="quota")


def check_issuable(agreement: Agreement, today: date, live: int) -> None:
    """Raise the reason this agreement cannot issue one more number, if any."""
    name = f"agreement {agreement.id} ({agreement.name})"
    if agreement.status != AgreementStatus.ACTIVE:
        raise AgreementNotActive(f"{name} is {agreement.status}; numbers are not issued")
    if today < agreement.term_start:
        raise AgreementNotActive(f"{name} starts on {agreement.term_start.isoformat()}")
    if today > agreement.term_end:
        raise AgreementNotActive(f"{name} ended on {agreement.term_end.isoformat()}")
    if live >= agreement.quota:
        raise AgreementQuotaReached(f"{name} has reached its quota of {agreement.quota} numbers")


def issuable_pools(repo: NumberRepository, pools: Sequence[Pool], today: date) -> list[Pool]:
    """The pools issuance may draw from; raises the first refusal when none is left."""
    allowed: list[Pool] = []
    refusal: AgreementNotActive | AgreementQuotaReached | None = None
    verdicts: dict[int, bool] = {}
    for pool in pools:
        if pool.agreement_id is None:
            allowed.append(pool)
            continue
        if pool.agreement_id not in verdicts:
            agreement = repo.agreement(pool.agreement_id, for_update=True)
            assert agreement is not None  # foreign key
            try:
                check_issuable(agreement, today, repo.live_in_agreement(agreement.id))
                verdicts[agreement.id] = True
            except (AgreementNotActive, AgreementQuotaReached) as exc:
                refusal = refusal or exc
                verdicts[agreement.id] = False
        if verdicts[pool.agreement_id]:
            allowed.append(pool)
    if not allowed and refusal is not None:
        raise refusal
    return allowed


class AgreementService:
    """Create, change and list agreements; the caller owns the transaction."""

    def __init__(self, repo: NumberRepository, clock: Clock, actor: str) -> None:
        self.repo = repo
        self.clock = clock
        self.actor = actor

    def create(self, terms: AgreementTerms) -> AgreementView:
        terms.check()
        now = self.clock()
        agreement = Agreement(
            name=terms.name.strip(),
            district=terms.district.strip(),
            partner=terms.partner.strip(),
            term_start=terms.term_start,
            term_end=terms.term_end,
            quota=terms.quota,
            eligibility=terms.eligibility.strip(),
            status=AgreementStatus.DRAFT,
            created_at=now,
            updated_at=now,
        )
        self.repo.add(agreement)
        self._audit("agreement.created", agreement)
        return agreement_view(self.repo, agreement)

    def update(
        self,
        agreement_id: int,
        *,
        status: str | None = None,
        quota: int | None = None,
        term_end: date | None = None,
    ) -> AgreementView:
        agreement = get_agreement(self.repo, agreement_id, lock=True)
        if status is not None:
            check_transition(agreement.status, status)
            agreement.status = status
        if quota is not None:
            if quota < 0:
                raise InvalidValue("quota must be 0 or more", field="quota")
            agreement.quota = quota
        if term_end is not None:
            if term_end < agreement.term_start:
                raise InvalidValue("term_end is before term_start", field="term_end")
            agreement.term_end = term_end
        agreement.updated_at = self.clock()
        self.repo.session.flush()
        self._audit("agreement.updated", agreement)
        return agreement_view(self.repo, agreement)

    def show(self, agreement_id: int) -> AgreementView:
        return agreement_view(self.repo, get_agreement(self.repo, agreement_id))

    def list_all(self) -> list[AgreementView]:
        return [agreement_view(self.repo, a) for a in self.repo.agreements()]

    def _audit(self, action: str, agreement: Agreement) -> None:
        self.repo.audit(
            self.clock(),
            self.actor,
            action,
            f"agreement:{agreement.id}",
            {
                "status": agreement.status,
                "quota": agreement.quota,
                "term_start": agreement.term_start.isoformat(),
                "term_end": agreement.term_end.isoformat(),
            },
        )


def seoul_today(now: datetime) -> date:
    return now.astimezone(SEOUL).date()


def agreement_view(repo: NumberRepository, agreement: Agreement) -> AgreementView:
    return AgreementView(
        id=agreement.id,
        name=agreement.name,
        district=agreement.district,
        partner=agreement.partner,
        term_start=agreement.term_start,
        term_end=agreement.term_end,
        quota=agreement.quota,
        eligibility=agreement.eligibility,
        status=agreement.status,
        live_numbers=repo.live_in_agreement(agreement.id),
    )


def get_agreement(repo: NumberRepository, agreement_id: int, *, lock: bool = False) -> Agreement:
    agreement = repo.agreement(agreement_id, for_update=lock)
    if agreement is None:
        raise NotFound(f"no agreement {agreement_id}", field="agreement_id")
    return agreement


def check_transition(current: str, new: str) -> None:
    if new not in TRANSITIONS:
        raise InvalidValue(f"status must be one of {', '.join(TRANSITIONS)}", field="status")
    if new != current and new not in TRANSITIONS[current]:
        raise InvalidTransition(f"an agreement cannot go from {current} to {new}")
