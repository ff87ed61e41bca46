"""The operators' review of blocked texts, and text statistics by filter category.

Any operator reads the queue (bodies included: review needs them, and the bodies are
not the texter's number, which never leaves the database); district and partner
admins release, or mark a text as spam. A release is audited under the operator and
recorded in the outbox; after commit a node's relay (in this process or in a
``safenum bridge``) sends it. ``sender_key`` is what the global
blocklist takes: marking a text as spam blocks its sender on every number, for calls
and texts (audited; AstDB follows after commit).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from app_api.auth.deps import Admin, AnyOperator, Api
from app_api.routers import pagination
from app_api.routers.schemas import (
    GlobalBlockOut,
    Page,
    ReviewTextOut,
    TextReleasedOut,
    TextStatsOut,
    problems,
)
from app_api.routers.texts import release
from blocking.blocks import GlobalBlockView
from blocking.review import TextReview
from blocking.text_records import TextService, TextView
from numbering.agreements import SEOUL
from numbering.errors import InvalidValue
from numbering.reports import MAX_DAYS, check_days, seoul_midnight

router = APIRouter(prefix="/v1/ops", tags=["operators"], responses=problems(401, 403, 503))

TextId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Day = Annotated[date | None, Query(description="YYYY-MM-DD, Asia/Seoul")]


def _review(view: TextView) -> dict[str, Any]:
    return {
        "id": view.id,
        "safe_number": view.number.national,
        "sender_ref": view.peer_ref,
        "sender_key": view.peer_key,
        "status": view.status,
        "category": view.category,
        "score": view.score,
        "reasons": list(view.reasons),
        "model": view.model,
        "body": view.body,
        "received_at": view.received_at,
    }


@router.get(
    "/texts/blocked",
    response_model=Page[ReviewTextOut],
    responses=problems(422),
    summary="Review queue: texts the filter kept back, newest first",
)
def blocked_texts(
    api: Api, who: AnyOperator, cursor: pagination.Cursor = None, limit: pagination.Limit = 50
) -> dict[str, Any]:
    before = pagination.decode_int(cursor)
    with api.core.reading(who.actor) as svc:
        views = TextService(svc.repo.session, api.core.keyring, api.core.clock).blocked_page(
            limit, before
        )
    last = views[-1].id if len(views) == limit else None
    return {
        "items": [_review(v) for v in views],
        "next_cursor": pagination.encode(last) if last else None,
    }


@router.post(
    "/texts/{text_id}/release",
    status_code=202,
    response_model=TextReleasedOut,
    responses=problems(404, 409, 422),
    summary="Release a blocked text: it is sent to the driver now (audited)",
)
def release_text(text_id: TextId, api: Api, who: Admin) -> dict[str, str]:
    release(api, who, text_id)
    return {"status": "released"}


@router.post(
    "/texts/{text_id}/spam",
    status_code=201,
    response_model=GlobalBlockOut,
    responses=problems(404, 409, 422),
    summary="Mark a text as spam: its sender is blocked on every number (again: the block)",
)
def mark_spam(text_id: TextId, api: Api, who: Admin) -> GlobalBlockView:
    """Feeds the global blocklist (``/v1/ops/blocks``) with the text's ``sender_key``:
    later calls and texts from that sender to any number are refused. A withheld sender
    or a driver's reply cannot be blocked (409 ``caller-not-blockable``)."""
    with api.core.writing(who.actor) as session:
        return TextReview(session, api.core.keyring, api.core.clock, who.actor).mark_spam(text_id)


@router.get(
    "/stats/texts",
    response_model=TextStatsOut,
    responses=problems(422),
    summary="Incoming texts by filter category and status over a period of days",
)
def text_stats(api: Api, who: AnyOperator, since: Day = None, until: Day = None) -> dict[str, Any]:
    """Same period as ``/v1/ops/stats``: by default the 7 days up to today (Asia/Seoul),
    at most 366 days. Texts are counted by their status now (a released text counts
    as ``released``, not ``blocked``)."""
    check_days(since, until)
    until = until or api.core.clock().astimezone(SEOUL).date()
    since = since or until - timedelta(days=6)
    if until < since:
        raise InvalidValue("until is before since", field="until")
    if (until - since).days >= MAX_DAYS:
        raise InvalidValue(f"at most {MAX_DAYS} days per request", field="until")
    with api.core.reading(who.actor) as svc:
        texts = TextService(svc.repo.session, api.core.keyring, api.core.clock).by_category(
            seoul_midnight(since), seoul_midnight(until + timedelta(days=1))
        )
    return {"since": since, "until": until, "texts": texts}
