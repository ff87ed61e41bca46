"""FastAPI dependencies: who is calling, and may they."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app_api.auth.tokens import Principal
from app_api.errors import Forbidden, Unauthenticated
from app_api.models import Role
from app_api.state import ApiState

_bearer = HTTPBearer(auto_error=False, description="Access token from /v1/auth/...")


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


Api = Annotated[ApiState, Depends(api_state)]


def principal(
    api: Api,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthenticated()
    return api.access.verify(creds.credentials)


def driver(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.kind != "driver":
        raise Forbidden("this route is for drivers signed in with their phone")
    return who


def operator(*roles: Role) -> Callable[[Principal], Principal]:
    """Any operator, or only the given roles."""

    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.kind != "operator":
            raise Forbidden("this route is for operators")
        if roles and who.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}")
        return who

    return check


Driver = Annotated[Principal, Depends(driver)]
AnyOperator = Annotated[Principal, Depends(operator())]
Admin = Annotated[Principal, Depends(operator(Role.DISTRICT_ADMIN, Role.PARTNER_ADMIN))]
DistrictAdmin = Annotated[Principal, Depends(operator(Role.DISTRICT_ADMIN))]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]
