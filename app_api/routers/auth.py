"""Sign-in: drivers by phone and one-time code, operators by password; token refresh."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app_api import idempotency
from app_api.auth.deps import Api, ClientAddress, principal
from app_api.auth.operators import OperatorService
from app_api.auth.tokens import Principal, TokenPair
from app_api.routers.schemas import (
    CodeRequest,
    CodeSentOut,
    CodeVerify,
    PasswordLogin,
    RefreshIn,
    TokensOut,
    problems,
)
from numbering.types import OwnerPhone

router = APIRouter(prefix="/v1/auth", tags=["sign-in"])


@router.post(
    "/code",
    status_code=202,
    response_model=CodeSentOut,
    responses=problems(422, 429, 503),
    summary="Text a 6-digit sign-in code to the driver's phone",
)
def request_code(
    body: CodeRequest,
    api: Api,
    client: ClientAddress,
    request: Request,
    key: idempotency.KeyHeader = None,
) -> Response:
    phone = OwnerPhone.parse(body.phone, field="phone")
    bucket = api.core.keyring.lookup_hash("idem-phone", phone.e164).hex()[:40]
    return idempotency.run(
        api.core.sessions.begin,
        lambda session: session,
        lambda _: CodeSentOut.model_validate(
            api.otp.request(phone, client), from_attributes=True
        ).model_dump(exclude_none=True),
        status=202,
        scope=f"code:{bucket}",
        key=key,
        fp=idempotency.fingerprint(request, body.model_dump()),
        clock=api.core.clock,
    )


@router.post(
    "/code/verify",
    response_model=TokensOut,
    responses=problems(400, 422, 503),
    summary="Exchange the code for tokens (registers the driver on first sign-in)",
)
def verify_code(body: CodeVerify, api: Api) -> TokenPair:
    phone = OwnerPhone.parse(body.phone, field="phone")
    api.otp.verify(phone, body.code)
    with api.core.numbers("signin") as svc:
        owner_id = svc.register(phone)
    return api.signins.start(Principal("driver", owner_id))


@router.post(
    "/operator",
    response_model=TokensOut,
    responses=problems(401, 422, 429, 503),
    summary="Operator sign-in with username and password",
)
def operator_sign_in(body: PasswordLogin, api: Api, client: ClientAddress) -> TokenPair:
    api.limiter.hit(f"login:{client}", 20, 900, "sign-in attempts")
    with api.core.sessions.begin() as session:
        who = OperatorService(session, api.core.clock, "signin").authenticate(
            body.username, body.password
        )
    return api.signins.start(who)


@router.post(
    "/refresh",
    response_model=TokensOut,
    responses=problems(401, 422),
    summary="Rotate the refresh token and get a new access token",
)
def refresh(body: RefreshIn, api: Api) -> TokenPair:
    return api.signins.rotate(body.refresh_token)


@router.post(
    "/sign-out",
    status_code=204,
    responses=problems(401, 422),
    summary="Revoke this sign-in (every token of its refresh family)",
)
def sign_out(body: RefreshIn, api: Api, who: Annotated[Principal, Depends(principal)]) -> Response:
    api.signins.revoke(body.refresh_token, who)
    return Response(status_code=204)
