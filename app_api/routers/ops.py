"""The operators' console: accounts, agreements, pools, numbers, statistics, audit,
call records (CSV, no real numbers) and the global caller blocklist.

Roles: a district admin does everything; a partner admin manages pools and numbers;
an auditor only reads. Every change is written to the audit log under the operator.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse

from app_api.auth.deps import Admin, AnyOperator, Api, DistrictAdmin
from app_api.auth.operators import OperatorService, OperatorView
from app_api.routers import pagination
from app_api.routers.schemas import (
    SAFE_NUMBER_PATTERN,
    AgreementIn,
    AgreementOut,
    AgreementPatch,
    AuditOut,
    DayStats,
    GlobalBlockIn,
    GlobalBlockOut,
    NumberOut,
    OperatorIn,
    OperatorOut,
    Page,
    PoolIn,
    PoolOut,
    documented,
    problems,
)
from app_api.state import ApiState
from blocking.blocks import BlockService, GlobalBlockView
from calls.records import CallRecords
from numbering.agreements import AgreementService, AgreementTerms
from numbering.reports import Reports, check_days, seoul_midnight
from numbering.repository import NumberRepository
from numbering.types import SafeNumber
from numbering.views import AgreementView, NumberView

router = APIRouter(prefix="/v1/ops", tags=["operators"], responses=problems(401, 403, 503))

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
NumberPath = Annotated[
    str,
    Path(
        max_length=32,
        examples=["0504-1234-5678"],
        json_schema_extra=documented(SAFE_NUMBER_PATTERN),
    ),
]


@contextmanager
def _repo(api: ApiState) -> Iterator[NumberRepository]:
    with api.core.sessions.begin() as session:
        yield NumberRepository(session)


@contextmanager
def _read_repo(api: ApiState) -> Iterator[NumberRepository]:
    """Read-only access (lists, reports): never queues behind writers."""
    with api.core.reading() as svc:
        yield svc.repo


# operators -------------------------------------------------------------------
@router.get("/operators", response_model=list[OperatorOut], summary="Operator accounts")
def list_operators(api: Api, who: DistrictAdmin) -> list[OperatorView]:
    with api.core.sessions.begin() as session:
        return OperatorService(session, api.core.clock, who.actor).list_all()


@router.post(
    "/operators",
    status_code=201,
    response_model=OperatorOut,
    responses=problems(409, 422),
    summary="Create an operator account",
)
def create_operator(body: OperatorIn, api: Api, who: DistrictAdmin) -> OperatorView:
    with api.core.sessions.begin() as session:
        return OperatorService(session, api.core.clock, who.actor).create(
            body.username, body.password, body.role
        )


# agreements ------------------------------------------------------------------
@router.get("/agreements", response_model=list[AgreementOut], summary="Pilot agreements")
def list_agreements(api: Api, who: AnyOperator) -> list[AgreementView]:
    with _read_repo(api) as repo:
        return AgreementService(repo, api.core.clock, who.actor).list_all()


@router.post(
    "/agreements",
    status_code=201,
    response_model=AgreementOut,
    responses=problems(422),
    summary="Create an agreement (starts as draft)",
)
def create_agreement(body: AgreementIn, api: Api, who: DistrictAdmin) -> AgreementView:
    with _repo(api) as repo:
        return AgreementService(repo, api.core.clock, who.actor).create(
            AgreementTerms(**body.model_dump())
        )


@router.get(
    "/agreements/{agreement_id}",
    response_model=AgreementOut,
    responses=problems(404, 422),
    summary="One agreement with its live number count",
)
def show_agreement(agreement_id: Id, api: Api, who: AnyOperator) -> AgreementView:
    with _read_repo(api) as repo:
        return AgreementService(repo, api.core.clock, who.actor).show(agreement_id)


@router.patch(
    "/agreements/{agreement_id}",
    response_model=AgreementOut,
    responses=problems(404, 409, 422),
    summary="Change status (draft, active, suspended, ended), quota or end of term",
)
def update_agreement(
    agreement_id: Id, body: AgreementPatch, api: Api, who: DistrictAdmin
) -> AgreementView:
    with _repo(api) as repo:
        return AgreementService(repo, api.core.clock, who.actor).update(
            agreement_id, status=body.status, quota=body.quota, term_end=body.term_end
        )


# pools -----------------------------------------------------------------------
@router.get("/pools", response_model=list[PoolOut], summary="Number pools and fill levels")
def list_pools(api: Api, who: AnyOperator) -> list[dict[str, Any]]:
    with api.core.reading(who.actor) as svc:
        return [{**p.to_json(), "fill": round(p.fill, 6)} for p in svc.list_pools()]


@router.post(
    "/pools",
    status_code=201,
    response_model=PoolOut,
    responses=problems(404, 409, 422),
    summary="Add a range of numbers, optionally under an agreement",
)
def add_pool(body: PoolIn, api: Api, who: Admin) -> dict[str, Any]:
    with api.core.numbers(who.actor) as svc:
        pool = svc.add_pool(body.prefix, body.range_from, body.range_to, body.agreement_id)
    return {**pool.to_json(), "fill": round(pool.fill, 6)}


# numbers ---------------------------------------------------------------------
@router.get(
    "/numbers",
    response_model=Page[NumberOut],
    responses=problems(422),
    summary="Numbers in use, in number order (real phones masked)",
)
def search_numbers(
    api: Api,
    who: AnyOperator,
    cursor: pagination.Cursor = None,
    limit: pagination.Limit = 50,
    status: Annotated[str | None, Query(max_length=16)] = None,
    prefix: Annotated[str | None, Query(max_length=12, description="e.g. 0504 or 05041234")] = None,
) -> dict[str, Any]:
    after = pagination.decode(cursor)
    start = SafeNumber.parse(after, field="cursor") if after else None
    with api.core.reading(who.actor) as svc:
        items = svc.search(start, limit, status, prefix)
    last = SafeNumber.parse(items[-1].safe_number).digits if len(items) == limit else None
    return {"items": items, "next_cursor": pagination.encode(last) if last else None}


@router.get(
    "/numbers/{number}",
    response_model=NumberOut,
    responses=problems(404, 422),
    summary="Find one number (real phone masked)",
)
def show_number(number: NumberPath, api: Api, who: AnyOperator) -> NumberView:
    n = SafeNumber.parse(number)
    with api.core.reading(who.actor) as svc:
        return svc.show(n)


@router.post(
    "/numbers/{number}/pause",
    response_model=NumberOut,
    responses=problems(404, 409, 422),
    summary="Pause a number",
)
def pause_number(number: NumberPath, api: Api, who: Admin) -> NumberView:
    n = SafeNumber.parse(number)
    with api.core.numbers(who.actor) as svc:
        return svc.pause(n)


@router.post(
    "/numbers/{number}/release",
    response_model=NumberOut,
    responses=problems(404, 409, 422),
    summary="Release a number (quarantine before reuse)",
)
def release_number(number: NumberPath, api: Api, who: Admin) -> NumberView:
    n = SafeNumber.parse(number)
    with api.core.numbers(who.actor) as svc:
        return svc.release(n)


# statistics and audit --------------------------------------------------------
Day = Annotated[date | None, Query(description="YYYY-MM-DD, Asia/Seoul")]


@router.get(
    "/stats",
    response_model=list[DayStats],
    responses=problems(422),
    summary="Per day and per agreement: numbers issued and active, calls, texts",
)
def stats(
    api: Api,
    who: AnyOperator,
    since: Day = None,
    until: Day = None,
    agreement_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[Any]:
    with api.core.reports() as reports:
        return list(reports.daily(since, until, api.core.clock(), agreement_id))


@router.get(
    "/audit",
    response_model=Page[AuditOut],
    responses=problems(422),
    summary="Audit log, oldest first (operator actions, destruction receipts)",
)
def audit(
    api: Api,
    who: AnyOperator,
    cursor: pagination.Cursor = None,
    limit: pagination.Limit = 100,
    since: Day = None,
    until: Day = None,
) -> dict[str, Any]:
    with _read_repo(api) as repo:
        items = Reports(repo).audit_page(pagination.decode_int(cursor), limit, since, until)
    last = items[-1].id if len(items) == limit else None
    return {"items": items, "next_cursor": pagination.encode(last) if last else None}


CSV_COLUMNS = ("id", "at", "actor", "action", "subject", "detail")


@router.get(
    "/audit.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **problems(422)},
    summary="The audit log as CSV (holds no personal data)",
)
def audit_csv(
    api: Api, who: AnyOperator, since: Day = None, until: Day = None
) -> StreamingResponse:
    check_days(since, until)  # refuse before the response starts streaming

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        after: int | None = None
        while True:
            with _read_repo(api) as repo:
                page = Reports(repo).audit_page(after, 1000, since, until)
            for e in page:
                detail = json.dumps(e.detail, ensure_ascii=False, sort_keys=True)
                writer.writerow((e.id, e.at.isoformat(), e.actor, e.action, e.subject, detail))
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(page) < 1000:
                return
            after = page[-1].id

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="safenum-audit.csv"'},
    )


CALL_CSV_COLUMNS = (
    "id",
    "started_at",
    "answered_at",
    "ended_at",
    "safe_number",
    "kind",
    "outcome",
    "text_sent",
    "duration_seconds",
    "caller_ref",
    "caller_key",
)


@router.get(
    "/calls.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **problems(422)},
    summary="Call records as CSV: the 050 number and opaque caller references, no real number",
)
def calls_csv(
    api: Api, who: AnyOperator, since: Day = None, until: Day = None
) -> StreamingResponse:
    """``caller_ref`` is per number (what the driver sees); ``caller_key`` is the same
    caller on every number (what a global block takes); neither is a phone number."""
    check_days(since, until)  # refuse before the response starts streaming
    start = seoul_midnight(since) if since else None
    end = seoul_midnight(until + timedelta(days=1)) if until else None

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CALL_CSV_COLUMNS)
        after: int | None = None
        while True:
            with _read_repo(api) as repo:
                page = CallRecords(repo.session).page(after, 1000, start, end)
            for r in page:
                writer.writerow(
                    (
                        r.id,
                        r.started_at.isoformat(),
                        r.answered_at.isoformat() if r.answered_at else "",
                        r.ended_at.isoformat(),
                        r.number.national,
                        r.kind,
                        r.outcome,
                        int(r.text_sent),
                        r.duration_seconds,
                        r.caller_ref,
                        r.caller_key or "",
                    )
                )
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(page) < 1000:
                return
            after = page[-1].id

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="safenum-calls.csv"'},
    )


# global caller blocklist -------------------------------------------------------
BlockId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get(
    "/blocks",
    response_model=Page[GlobalBlockOut],
    responses=problems(422),
    summary="Callers blocked on every number, oldest first",
)
def list_global_blocks(
    api: Api, who: AnyOperator, cursor: pagination.Cursor = None, limit: pagination.Limit = 100
) -> dict[str, Any]:
    with api.core.reading(who.actor) as svc:
        items = BlockService(svc.repo.session, api.core.clock).global_blocks(
            pagination.decode_int(cursor), limit
        )
    last = items[-1].id if len(items) == limit else None
    return {"items": items, "next_cursor": pagination.encode(last) if last else None}


@router.post(
    "/blocks",
    status_code=201,
    response_model=GlobalBlockOut,
    responses=problems(404, 409, 422),
    summary="Block a caller on every number, from a call record or by caller key",
)
def add_global_block(body: GlobalBlockIn, api: Api, who: Admin) -> GlobalBlockView:
    with api.core.writing(who.actor) as session:
        return BlockService(session, api.core.clock, who.actor).block_globally(
            record_id=body.record_id, caller_key=body.caller_key, note=body.note
        )


@router.delete(
    "/blocks/{block_id}",
    status_code=204,
    response_class=Response,
    responses=problems(404, 422),
    summary="Lift a global block",
)
def remove_global_block(block_id: BlockId, api: Api, who: Admin) -> Response:
    with api.core.writing(who.actor) as session:
        BlockService(session, api.core.clock, who.actor).unblock_globally(block_id)
    return Response(status_code=204)
