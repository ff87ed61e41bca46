"""Request and response bodies, with the examples the OpenAPI document shows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


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
    phone: str = Field(min_length=1, max_length=32, description="The driver's Korean mobile.")


class CodeSentOut(BaseModel):
    model_config = _example(phone="010-****-5678", expires_in=180)
    phone: str
    expires_in: int


class CodeVerify(BaseModel):
    model_config = _example(phone="010-1234-5678", code="123456")
    phone: str = Field(min_length=1, max_length=32)
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
    plate: str = Field(min_length=1, max_length=32)


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
    prefix: str | None = Field(None, description="Pick the pool, 0502-0509.")


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


# public ----------------------------------------------------------------------
class MoveCarSent(BaseModel):
    model_config = _example(status="sent", safe_number="0504-1234-5678")
    status: Literal["sent"]
    safe_number: str


# operators -------------------------------------------------------------------
class OperatorIn(BaseModel):
    model_config = _example(username="partner-ops", password="a long passphrase", role="auditor")  # noqa: S106
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
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
    term_start: date
    term_end: date
    quota: int = Field(ge=0, le=10_000_000)
    eligibility: str = Field("", max_length=255)


class AgreementPatch(BaseModel):
    model_config = _example(status="active")
    status: Literal["draft", "active", "suspended", "ended"] | None = None
    quota: int | None = Field(None, ge=0, le=10_000_000)
    term_end: date | None = None


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
    prefix: str = Field(min_length=1, max_length=8)
    range_from: str = Field(min_length=1, max_length=16)
    range_to: str = Field(min_length=1, max_length=16)
    agreement_id: int | None = Field(None, ge=1, le=2**31 - 1)


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


class DayStats(BaseModel):
    model_config = _example(
        day="2026-12-01",
        agreement_id=1,
        numbers_issued=12,
        numbers_active=340,
        move_car_texts=4,
        calls_bridged=None,
        calls_blocked=None,
        texts_delivered=None,
        texts_blocked=None,
    )
    day: date
    agreement_id: int | None
    numbers_issued: int
    numbers_active: int
    move_car_texts: int
    calls_bridged: int | None = Field(description="null until call records exist")
    calls_blocked: int | None
    texts_delivered: int | None
    texts_blocked: dict[str, int] | None = Field(description="by filter category")
