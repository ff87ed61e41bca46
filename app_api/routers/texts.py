"""The driver's texts: what reached their numbers, what the filter kept, and review.

The other party is only the opaque per-number reference a call record also shows,
so a texter is blocked like a caller (one block covers both, on that number). A
blocked text can be released: it becomes ``pending``, the outbox records it, and after
commit a node's relay (in this process or in a ``safenum bridge``) sends it at once.
Another driver's text answers 404 like a missing one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from app_api.auth.deps import Api, Driver
from app_api.auth.tokens import Principal
from app_api.routers import pagination
from app_api.routers.schemas import BlockOut, Page, TextOut, TextReleasedOut, problems
from app_api.state import ApiState
from blocking.blocks import BlockService, BlockView
from blocking.review import TextReview
from blocking.text_records import TextService, TextView

router = APIRouter(prefix="/v1", tags=["drivers"], responses=problems(401, 403, 503))

TextId = Annotated[int, Path(ge=1, le=2**31 - 1, description="id of a text")]


def release(api: ApiState, who: Principal, text_id: int) -> None:
    """Release a blocked text (a driver only their own), audited; the outbox wakes a
    relay after commit. Shared with the operators' review (``ops_texts``)."""
    owner_id = who.subject if who.kind == "driver" else None
    with api.core.writing(who.actor) as session:
        TextReview(session, api.core.keyring, api.core.clock, who.actor).release(text_id, owner_id)


def _out(view: TextView, blocked: set[tuple[str, str]]) -> dict[str, Any]:
    number = view.number.national
    return {
        "id": view.id,
        "safe_number": number,
        "direction": view.direction,
        "sender_ref": view.peer_ref,
        "status": view.status,
        "category": view.category,
        "score": view.score,
        "reasons": list(view.reasons),
        "model": view.model,
        "body": view.body,
        "received_at": view.received_at,
        "handled_at": view.handled_at,
        "released_at": view.released_at,
        "sender_blocked": (number, view.peer_ref) in blocked,
    }


@contextmanager
def _sender_blocks(api: ApiState, who: Principal) -> Iterator[BlockService]:
    """A write on my blocks; its changes reach AstDB through the outbox."""
    with api.core.numbers(who.actor) as svc:
        yield BlockService(svc.repo.session, api.core.clock, who.actor)


@router.get(
    "/texts",
    response_model=Page[TextOut],
    responses=problems(422),
    summary="Texts to my numbers and my replies, newest first (texters as opaque references)",
)
def my_texts(
    api: Api, who: Driver, cursor: pagination.Cursor = None, limit: pagination.Limit = 50
) -> dict[str, Any]:
    before = pagination.decode_int(cursor)
    with api.core.reading(who.actor) as svc:
        session = svc.repo.session
        views = TextService(session, api.core.keyring, api.core.clock).of_owner(
            who.subject, limit, before
        )
        blocks = BlockService(session, api.core.clock).blocks_of(who.subject)
    blocked = {(b.safe_number, b.caller_ref) for b in blocks}
    last = views[-1].id if len(views) == limit else None
    return {
        "items": [_out(v, blocked) for v in views],
        "next_cursor": pagination.encode(last) if last else None,
    }


@router.post(
    "/texts/{text_id}/release",
    status_code=202,
    response_model=TextReleasedOut,
    responses=problems(404, 409, 422),
    summary="Let one of my blocked texts through: it is sent to my phone now",
)
def release_my_text(text_id: TextId, api: Api, who: Driver) -> dict[str, str]:
    release(api, who, text_id)
    return {"status": "released"}


@router.put(
    "/texts/{text_id}/block",
    response_model=BlockOut,
    responses=problems(404, 409, 422),
    summary="Block this text's sender on this number, for texts and calls (again: the block)",
)
def block_sender(text_id: TextId, api: Api, who: Driver) -> BlockView:
    with _sender_blocks(api, who) as blocks:
        number, ref = TextService(
            blocks.repo.session, api.core.keyring, api.core.clock
        ).caller_ref_of(who.subject, text_id)
        view = blocks.block_reference(who.subject, number, ref, field="text_id")
    return view


@router.delete(
    "/texts/{text_id}/block",
    status_code=204,
    response_class=Response,
    responses=problems(404, 422),
    summary="Unblock this text's sender (no error if not blocked)",
)
def unblock_sender(text_id: TextId, api: Api, who: Driver) -> Response:
    with _sender_blocks(api, who) as blocks:
        number, ref = TextService(
            blocks.repo.session, api.core.keyring, api.core.clock
        ).caller_ref_of(who.subject, text_id)
        blocks.unblock_reference(who.subject, number, ref)
    return Response(status_code=204)
