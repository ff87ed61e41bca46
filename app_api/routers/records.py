"""The driver's call records and call blocks.

Records show the other party only as an opaque per-number reference. Blocking works
from a record (its reference, never a number) and covers that caller on that
number; another driver's record or block answers 404 like a missing one. A change
commits, then reaches Asterisk through the bridge (``safenum/block/<number>/<ref>``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from app_api.auth.deps import Api, Driver
from app_api.auth.tokens import Principal
from app_api.routers import pagination
from app_api.routers.schemas import (
    SAFE_NUMBER_PATTERN,
    BlockOut,
    CallOut,
    Page,
    documented,
    problems,
)
from app_api.state import ApiState
from blocking.blocks import BlockService, BlockView
from numbering.types import SafeNumber

router = APIRouter(prefix="/v1", tags=["drivers"], responses=problems(401, 403, 503))

RecordId = Annotated[int, Path(ge=1, le=2**31 - 1, description="id of a call record")]
BlockId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@contextmanager
def _blocks(api: ApiState, who: Principal, *, write: bool = False) -> Iterator[BlockService]:
    """Read-only unless ``write``; a write's changes reach AstDB through the outbox."""
    unit = api.core.numbers if write else api.core.reading
    with unit(who.actor) as svc:
        yield BlockService(svc.repo.session, api.core.clock, who.actor)


@router.get(
    "/calls",
    response_model=Page[CallOut],
    responses=problems(404, 422),
    summary="Call records of my numbers, newest first (callers as opaque references)",
)
def my_calls(
    api: Api,
    who: Driver,
    cursor: pagination.Cursor = None,
    limit: pagination.Limit = 50,
    number: Annotated[
        str | None,
        Query(
            max_length=32,
            description="Only this number of mine",
            json_schema_extra=documented(SAFE_NUMBER_PATTERN),
        ),
    ] = None,
) -> dict[str, Any]:
    before = pagination.decode_at(cursor)
    only = SafeNumber.parse(number, field="number") if number is not None else None
    with api.core.reading(who.actor) as svc:
        if only is not None:
            svc.show(only, owner_id=who.subject)  # 404 unless it is mine
        items = BlockService(svc.repo.session, api.core.clock).calls(
            who.subject, before, limit, only
        )
    last = items[-1] if len(items) == limit else None
    return {
        "items": [CallOut.of(r) for r in items],
        "next_cursor": pagination.encode_at(last.started_at, last.id) if last else None,
    }


@router.put(
    "/calls/{record_id}/block",
    response_model=BlockOut,
    responses=problems(404, 409, 422),
    summary="Block this call's caller on this number (blocking again returns the block)",
)
def block_caller(record_id: RecordId, api: Api, who: Driver) -> BlockView:
    with _blocks(api, who, write=True) as blocks:
        view = blocks.block_from_record(who.subject, record_id)
    return view


@router.delete(
    "/calls/{record_id}/block",
    status_code=204,
    response_class=Response,
    responses=problems(404, 422),
    summary="Unblock this call's caller (no error if not blocked)",
)
def unblock_caller(record_id: RecordId, api: Api, who: Driver) -> Response:
    with _blocks(api, who, write=True) as blocks:
        blocks.unblock_from_record(who.subject, record_id)
    return Response(status_code=204)


@router.get("/blocks", response_model=list[BlockOut], summary="Callers I blocked")
def my_blocks(api: Api, who: Driver) -> list[BlockView]:
    with _blocks(api, who) as blocks:
        return blocks.blocks_of(who.subject)


@router.delete(
    "/blocks/{block_id}",
    status_code=204,
    response_class=Response,
    responses=problems(404, 422),
    summary="Remove one of my blocks (also after its call record was purged)",
)
def remove_block(block_id: BlockId, api: Api, who: Driver) -> Response:
    with _blocks(api, who, write=True) as blocks:
        blocks.unblock(who.subject, block_id)
    return Response(status_code=204)
