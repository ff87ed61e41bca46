"""The drivers' app: my account, vehicles, numbers and parking cards.

Every route is scoped to the caller's opaque owner id; another driver's number
answers 404 exactly like a number that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from app_api import cards, idempotency
from app_api.auth.deps import Api, Driver
from app_api.routers.schemas import (
    SAFE_NUMBER_PATTERN,
    MeOut,
    NumberOut,
    NumberRequest,
    ReceiptOut,
    VehicleIn,
    VehicleOut,
    documented,
    problems,
)
from numbering.service import NumberService
from numbering.types import Plate, SafeNumber
from numbering.views import DestructionReceipt, NumberView, VehicleView

router = APIRouter(prefix="/v1", tags=["drivers"], responses=problems(401, 403, 503))

NumberPath = Annotated[
    str,
    Path(
        description="The safe number, e.g. 0504-1234-5678",
        examples=["0504-1234-5678"],
        max_length=32,
        json_schema_extra=documented(SAFE_NUMBER_PATTERN),
    ),
]


@router.get("/me", response_model=MeOut, summary="My account and numbers")
def me(api: Api, who: Driver) -> dict[str, Any]:
    with api.core.reading(who.actor) as svc:
        return {"owner_id": who.subject, "numbers": svc.numbers_of(who.subject)}


@router.delete(
    "/me",
    response_model=ReceiptOut,
    responses={
        202: {
            "model": ReceiptOut,
            "description": "Destroyed in the database; some Asterisk node has not yet "
            "dropped its copies (telephony: pending)",
        }
    },
    summary="Delete my account: release my numbers and destroy my personal data",
)
def delete_me(api: Api, who: Driver, response: Response) -> DestructionReceipt:
    """200 when every Asterisk node has dropped its copies too; 202 while some have not
    (``telephony: pending``): the bridges remove them as soon as they run."""
    with api.core.numbers(who.actor) as svc:
        receipt = svc.delete_owner_id(who.subject)
        idempotency.forget(svc.repo.session, who.actor)
    status = api.core.await_bridges(api.core.settings.destruction_wait_seconds)
    if status.pending:
        response.status_code = 202
    return receipt.with_telephony(status)


@router.get("/vehicles", response_model=list[VehicleOut], summary="My vehicles")
def vehicles(api: Api, who: Driver) -> list[VehicleView]:
    with api.core.reading(who.actor) as svc:
        return svc.vehicles(who.subject)


@router.post(
    "/vehicles",
    status_code=201,
    response_model=VehicleOut,
    responses=problems(422),
    summary="Register a vehicle by plate (registering it again returns it)",
)
def add_vehicle(body: VehicleIn, api: Api, who: Driver) -> VehicleView:
    plate = Plate.parse(body.plate)
    with api.core.numbers(who.actor) as svc:
        return svc.add_vehicle(who.subject, plate)


@router.post(
    "/vehicles/{vehicle_id}/number",
    status_code=201,
    response_model=NumberOut,
    responses=problems(404, 409, 422),
    summary="Get a safe number for my vehicle (honours Idempotency-Key)",
)
def issue_number(
    vehicle_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: NumberRequest,
    api: Api,
    who: Driver,
    request: Request,
    key: idempotency.KeyHeader = None,
) -> Response:
    def action(svc: NumberService) -> dict[str, Any]:
        return svc.issue_for_vehicle(who.subject, vehicle_id, body.prefix).to_json()

    return idempotency.run(
        lambda: api.core.numbers(who.actor),
        lambda svc: svc.repo.session,
        action,
        status=201,
        scope=who.actor,
        key=key,
        fp=idempotency.fingerprint(request, body.model_dump()),
        clock=api.core.clock,
    )


@router.get("/numbers", response_model=list[NumberOut], summary="My numbers")
def my_numbers(api: Api, who: Driver) -> list[NumberView]:
    with api.core.reading(who.actor) as svc:
        return svc.numbers_of(who.subject)


@router.get(
    "/numbers/{number}",
    response_model=NumberOut,
    responses=problems(404, 422),
    summary="One number",
)
def my_number(number: NumberPath, api: Api, who: Driver) -> NumberView:
    n = SafeNumber.parse(number)
    with api.core.reading(who.actor) as svc:
        return svc.show(n, owner_id=who.subject)


def _lifecycle(verb: str, summary: str) -> None:
    def route(number: NumberPath, api: Api, who: Driver) -> NumberView:
        n = SafeNumber.parse(number)
        with api.core.numbers(who.actor) as svc:
            result: NumberView = getattr(svc, verb)(n, owner_id=who.subject)
            return result

    router.add_api_route(
        f"/numbers/{{number}}/{verb}",
        route,
        methods=["POST"],
        response_model=NumberOut,
        responses=problems(404, 409, 422),
        summary=summary,
        name=f"{verb}_number",
    )


_lifecycle("renew", "Renew: the term restarts today")
_lifecycle("pause", "Pause: callers hear that the number is not available")
_lifecycle("resume", "Resume a paused number")
_lifecycle("release", "Give the number back (it rests in quarantine before reuse)")

_CARD_RESPONSES: dict[int | str, dict[str, Any]] = {
    **problems(404, 409, 422),
}


@router.get(
    "/numbers/{number}/card.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **_CARD_RESPONSES},
    summary="Dashboard parking card (PNG) with a QR code to the public page",
)
def card_png(number: NumberPath, api: Api, who: Driver) -> Response:
    n = SafeNumber.parse(number)
    with api.core.numbers(who.actor) as svc:
        token = svc.card_token(n, owner_id=who.subject)
    url = cards.public_url(api.settings.public_base_url, token)
    return Response(cards.render_png(n, url), media_type="image/png")


@router.get(
    "/numbers/{number}/card.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **_CARD_RESPONSES},
    summary="Dashboard parking card (PDF, A6 landscape)",
)
def card_pdf(number: NumberPath, api: Api, who: Driver) -> Response:
    n = SafeNumber.parse(number)
    with api.core.numbers(who.actor) as svc:
        token = svc.card_token(n, owner_id=who.subject)
    url = cards.public_url(api.settings.public_base_url, token)
    return Response(cards.render_pdf(n, url), media_type="application/pdf")
