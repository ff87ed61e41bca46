"""Request and response bodies, with the examples the OpenAPI document shows.

Numbers and booleans in request bodies are strict (``StrictInt``, ``StrictBool``): JSON
``false`` is not 0, ``"5"`` is not 5, and ``1`` is not true. Each is refused with 422
naming the field, like any other invalid value.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from app_api.auth.passwords import MIN_LENGTH
from calls.records import CallRecordView

T = TypeVar("T")


# Patterns in the OpenAPI document only (json_schema_extra): what a client may send for
# sure. The parsers accept more spellings (spaces, +82) and say precisely what is wrong
# with a value, so validation stays in the value types, not in these patterns.
SAFE_NUMBER_PATTERN = r"^050[2-9]-?[0-9]{4}-?[0-9]{4}$"
MOBILE_PATTERN = r"^01[016789]-?[0-9]{3,4}-?[0-9]{4}$"
PLATE_PATTERN = (
    r"^[0-9]{2,3}[가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자배하허호]"
    r"[0-9]{4}$"
)
PREFIX_PATTERN = r"^050[2-9]$"
SUBSCRIBER_PATTERN = r"^[0-9]{8}$"


def _iso_date_only(value: object) -> object:
    """JSON has no date type: take the ISO string only (never 0 as 1970-01-01)."""
    if isinstance(value, str | date):
        return value
    raise ValueError("a date is a string like 2026-12-01")


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]


def documented(pattern: str) -> dict[str, Any]:
    return {"pattern": pattern}


def _example(**example: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class Problem(BaseModel):
    """RFC 9457 problem details; branch on ``title`` (the stable error id)."""

    model_config = _example(
        type="urn:safenum:error:invalid-value",
        title="invalid-value",
        status=422,
        detail="phone: landlines cannot own a safe number; use a mobile number (010-...)",
        errors=[{"field": "phone", "reason": "landlines cannot own a safe number"}],
    )
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": Problem, "content": {"application/problem+json": {}}} for c in codes}


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        None, description="Pass as ?cursor= for the next page; null on the last page."
    )


# auth ----------------------------------------------------------------------
class CodeRequest(BaseModel):
    model_config = _example(phone="010-1234-5678")
    phone: str = Field(
        min_length=1,
        max_length=32,
        description="The driver's Korean mobile.",
        json_schema_extra=documented(MOBILE_PATTERN),
    )


class CodeSentOut(BaseModel):
    model_config = _example(phone="010-****-5678", expires_in=180)
    phone: str
    expires_in: int
    dev_code: str | None = Field(
        None,
        description="DEVELOPMENT ONLY: the code itself, present only when SAFENUM_ENV="
        "development (no text reaches a phone there); never in test or production.",
    )


class CodeVerify(BaseModel):
    model_config = _example(phone="010-1234-5678", code="123456")
    phone: str = Field(min_length=1, max_length=32, json_schema_extra=documented(MOBILE_PATTERN))
    code: str = Field(pattern=r"^\d{6}$")


class PasswordLogin(BaseModel):
    model_config = _example(username="gangnam-admin", password="correct horse battery")  # noqa: S106
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class TokensOut(BaseModel):
    model_config = _example(
        access_token="eyJhbGciOiJIUzI1NiJ9...",  # noqa: S106
        refresh_token="3f1c...e2.kq9...",  # noqa: S106
        expires_in=900,
        token_type="Bearer",  # noqa: S106
    )
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str


# drivers ---------------------------------------------------------------------
class VehicleIn(BaseModel):
    model_config = _example(plate="12가3456")
    plate: str = Field(
        min_length=1,
        max_length=32,
        description="Also accepted: spaces, and a region before the digits (서울12가3456).",
        json_schema_extra=documented(PLATE_PATTERN),
    )


class VehicleOut(BaseModel):
    model_config = _example(
        id=7, plate="12가**56", safe_number="0504-1234-5678", created_at="2026-11-22T09:00:00Z"
    )
    id: int
    plate: str
    safe_number: str | None
    created_at: datetime


class NumberRequest(BaseModel):
    model_config = _example(prefix="0504")
    prefix: str | None = Field(
        None, description="Pick the pool, 0502-0509.", json_schema_extra=documented(PREFIX_PATTERN)
    )


class NumberOut(BaseModel):
    model_config = _example(
        safe_number="0504-1234-5678",
        status="active",
        owner_phone="010-****-5678",
        plate="12가**56",
        issued_at="2026-11-22T09:00:00Z",
        expires_at="2027-11-22T09:00:00Z",
        quarantine_until=None,
    )
    safe_number: str
    status: str
    owner_phone: str | None
    plate: str | None
    issued_at: datetime
    expires_at: datetime
    quarantine_until: datetime | None


class MeOut(BaseModel):
    owner_id: str
    numbers: list[NumberOut]


class ReceiptOut(BaseModel):
    receipt_id: str
    subject: str
    destroyed_at: datetime
    actor: str
    method: str
    destroyed: list[str]
    numbers_released: int
    telephony: Literal["removed", "pending", "no-nodes", "not-checked"] = Field(
        description="Asterisk's copies: removed on every node, pending on some "
        "(`telephony_pending`; answered with 202), or no node holds any"
    )
    telephony_pending: list[str] = Field(description="Asterisk nodes not yet cleaned")


class PreferencesOut(BaseModel):
    model_config = _example(
        safe_number="0504-1234-5678",
        quiet_start="22:00",
        quiet_end="07:00",
        timezone="Asia/Seoul",
        move_car_text=True,
    )
    safe_number: str
    quiet_start: str | None = Field(description="HH:MM, Asia/Seoul; null: no quiet hours")
    quiet_end: str | None = Field(description="HH:MM; may be before quiet_start (overnight)")
    timezone: str
    move_car_text: bool = Field(description="Callers may send the move-car text")


_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class QuietHoursIn(BaseModel):
    model_config = _example(quiet_start="22:00", quiet_end="07:00")
    quiet_start: str = Field(pattern=_HHMM, description="HH:MM, Asia/Seoul")
    quiet_end: str = Field(pattern=_HHMM, description="HH:MM, Asia/Seoul; may span midnight")


class MoveCarTextIn(BaseModel):
    model_config = _example(enabled=False)
    enabled: StrictBool


class CallOut(BaseModel):
    model_config = _example(
        id=812,
        safe_number="0504-1234-5678",
        caller_ref="3f9a1c0d5e7b2a4c6e8f",
        caller_blocked=False,
        kind="call",
        outcome="answered",
        text_sent=False,
        started_at="2026-12-01T08:30:00Z",
        answered_at="2026-12-01T08:30:09Z",
        ended_at="2026-12-01T08:31:02Z",
        duration_seconds=53,
    )
    id: int
    safe_number: str
    caller_ref: str = Field(
        description="Opaque reference of the other party on this number (never a phone "
        "number): the same caller on the same number has the same reference; "
        "'anonymous' when the number was withheld."
    )
    caller_blocked: bool
    kind: str = Field(description="call, or callback (the driver called the last caller back)")
    outcome: str = Field(
        description="answered, no-answer, busy, rejected, blocked or move-text",
    )
    text_sent: bool
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    duration_seconds: int

    @classmethod
    def of(cls, r: CallRecordView) -> CallOut:
        """The driver's view of a record: never its ``caller_key``."""
        return cls(
            id=r.id,
            safe_number=r.number.national,
            caller_ref=r.caller_ref,
            caller_blocked=r.caller_blocked,
            kind=r.kind,
            outcome=r.outcome,
            text_sent=r.text_sent,
            started_at=r.started_at,
            answered_at=r.answered_at,
            ended_at=r.ended_at,
            duration_seconds=r.duration_seconds,
        )


class BlockOut(BaseModel):
    model_config = _example(
        id=31,
        safe_number="0504-1234-5678",
        caller_ref="3f9a1c0d5e7b2a4c6e8f",
        created_at="2026-12-01T08:40:00Z",
    )
    id: int
    safe_number: str
    caller_ref: str
    created_at: datetime


TextStatus = Literal["pending", "delivered", "blocked", "released", "no-recipient", "lost"]


class TextOut(BaseModel):
    model_config = _example(
        id=57,
        safe_number="0504-1234-5678",
        direction="in",
        sender_ref="3f9a1c0d5e7b2a4c6e8f",
        status="blocked",
        category="ad",
        score=0.97,
        reasons=["ad marker (광고)"],
        model="base-b0122ea460",
        body="(광고) 신규 오픈 특가 ...",
        received_at="2026-12-01T08:30:00Z",
        handled_at="2026-12-01T08:30:01Z",
        released_at=None,
        sender_blocked=False,
    )
    id: int
    safe_number: str
    direction: Literal["in", "reply"] = Field(
        description="in: a text to my number; reply: my own text back to the last texter"
    )
    sender_ref: str = Field(
        description="Opaque reference of the texter on this number (the same as for their "
        "calls; never a phone number); 'anonymous' when withheld, 'driver' for my replies."
    )
    status: TextStatus = Field(
        description="pending: being sent; blocked: kept by the filter, not sent; released: "
        "sent after review; no-recipient: a reply with nobody to send it to; lost: "
        "arrived without its body (too long)"
    )
    category: str = Field(description="The filter's category: ham, ad, spam, ...")
    score: float
    reasons: list[str]
    model: str = Field(
        description="Version of the filter model that judged the text (as `safenum filter` "
        "prints it); empty when no model was asked (a reply, a sender already blocked)"
    )
    body: str
    received_at: datetime
    handled_at: datetime | None
    released_at: datetime | None
    sender_blocked: bool = Field(description="I block this sender on this number")


class TextReleasedOut(BaseModel):
    model_config = _example(status="released")
    status: Literal["released"]


# public ----------------------------------------------------------------------
class MoveCarSent(BaseModel):
    model_config = _example(status="sent", safe_number="0504-1234-5678")
    status: Literal["sent"]
    safe_number: str


# operators -------------------------------------------------------------------
class OperatorIn(BaseModel):
    model_config = _example(username="partner-ops", password="a long passphrase", role="auditor")  # noqa: S106
    username: str = Field(
        min_length=3, max_length=64, json_schema_extra=documented(r"^[a-z0-9][a-z0-9._-]{2,63}$")
    )
    password: str = Field(min_length=MIN_LENGTH, max_length=256)
    role: Literal["district_admin", "partner_admin", "auditor"]


class OperatorOut(BaseModel):
    id: int
    username: str
    role: str
    created_at: datetime


class AgreementIn(BaseModel):
    model_config = _example(
        name="Gangnam safe parking pilot",
        district="Gangnam-gu",
        partner="Example Telecom",
        term_start="2026-12-01",
        term_end="2027-11-30",
        quota=5000,
        eligibility="residents of Gangnam-gu",
    )
    name: str = Field(min_length=1, max_length=128)
    district: str = Field(min_length=1, max_length=64)
    partner: str = Field(min_length=1, max_length=64)
    term_start: IsoDate
    term_end: IsoDate
    quota: StrictInt = Field(ge=0, le=10_000_000)
    eligibility: str = Field("", max_length=255)


class AgreementPatch(BaseModel):
    model_config = _example(status="active")
    status: Literal["draft", "active", "suspended", "ended"] | None = None
    quota: StrictInt | None = Field(None, ge=0, le=10_000_000)
    term_end: IsoDate | None = None


class AgreementOut(BaseModel):
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


class PoolIn(BaseModel):
    model_config = _example(prefix="0504", range_from="00000000", range_to="00099999")
    prefix: str = Field(min_length=1, max_length=8, json_schema_extra=documented(PREFIX_PATTERN))
    range_from: str = Field(
        min_length=1, max_length=16, json_schema_extra=documented(SUBSCRIBER_PATTERN)
    )
    range_to: str = Field(
        min_length=1, max_length=16, json_schema_extra=documented(SUBSCRIBER_PATTERN)
    )
    agreement_id: StrictInt | None = Field(None, ge=1, le=2**31 - 1)


class PoolOut(BaseModel):
    id: int
    prefix: str
    range_from: str
    range_to: str
    size: int
    used: int
    fill: float
    agreement_id: int | None


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class GlobalBlockIn(BaseModel):
    model_config = _example(record_id=812, note="calls every number on the card wall")
    record_id: StrictInt | None = Field(
        None, ge=1, le=2**31 - 1, description="Block the caller of this call record..."
    )
    caller_key: str | None = Field(
        None, pattern=r"^[0-9a-f]{20}$", description="...or this caller key (from calls.csv)."
    )
    note: str = Field("", max_length=200, description="Why; no personal data.")


class GlobalBlockOut(BaseModel):
    model_config = _example(
        id=4,
        caller_key="9c2e4b6a8d0f1e3c5a7b",
        note="calls every number on the card wall",
        created_at="2026-12-01T09:00:00Z",
        created_by="operator:1",
        expires_at=None,
    )
    id: int
    caller_key: str
    note: str
    created_at: datetime
    created_by: str = Field(
        description='The operator who blocked the caller, or "auto" for an automatic block.'
    )
    expires_at: datetime | None = Field(
        description="When an automatic block ends (a caller who dialled too many safe "
        "numbers in a short window); null for an operator's block, which is permanent."
    )


class ReviewTextOut(BaseModel):
    model_config = _example(
        id=57,
        safe_number="0504-1234-5678",
        sender_ref="3f9a1c0d5e7b2a4c6e8f",
        sender_key="9c2e4b6a8d0f1e3c5a7b",
        status="blocked",
        category="ad",
        score=0.97,
        reasons=["ad marker (광고)"],
        model="base-b0122ea460",
        body="(광고) 신규 오픈 특가 ...",
        received_at="2026-12-01T08:30:00Z",
    )
    id: int
    safe_number: str
    sender_ref: str = Field(description="The texter on this number (what the driver sees)")
    sender_key: str | None = Field(
        description="The texter on every number: what a global block takes "
        "(POST /v1/ops/blocks with caller_key); null when the number was withheld"
    )
    status: str
    category: str
    score: float
    reasons: list[str]
    model: str = Field(
        description="Version of the filter model that judged the text (as `safenum filter` "
        "prints it); empty when no model was asked (a reply, a sender already blocked)"
    )
    body: str
    received_at: datetime


class TextStatsOut(BaseModel):
    model_config = _example(
        since="2026-12-01",
        until="2026-12-07",
        texts={"ham": {"delivered": 120, "released": 2}, "ad": {"blocked": 14}},
    )
    since: date
    until: date
    texts: dict[str, dict[str, int]] = Field(
        description="Incoming texts received in the period (Asia/Seoul days): "
        "{category: {status: count}}"
    )


class DayStats(BaseModel):
    model_config = _example(
        day="2026-12-01",
        agreement_id=1,
        numbers_issued=12,
        numbers_active=340,
        move_car_texts=4,
        calls_bridged=57,
        calls_blocked=3,
        texts_delivered=41,
        texts_blocked={"ad": 6, "smishing": 1},
    )
    day: date
    agreement_id: int | None
    numbers_issued: int
    numbers_active: int
    move_car_texts: int = Field(
        description="from the public page and from the call menu (texts actually sent)"
    )
    calls_bridged: int | None = Field(description="calls the driver answered (callbacks too)")
    calls_blocked: int | None = Field(description="calls refused by a driver's or global block")
    texts_delivered: int | None = Field(
        description="incoming texts that reached the driver (delivered, or released after "
        "review); replies are not counted"
    )
    texts_blocked: dict[str, int] | None = Field(
        description="incoming texts the filter or a block kept back, by filter category "
        "(released ones too: they were blocked first); no key for a category with none"
    )
