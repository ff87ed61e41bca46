"""RFC 9457 problem+json for every error, so clients branch on a stable id."""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app_api.errors import CacheUnavailable
from numbering.errors import DomainError
from proxy.ami import AmiUnavailable
from proxy.errors import PbxUnavailable

PROBLEM = "application/problem+json"
log = logging.getLogger("safenum.http")

_HTTP_IDS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "too-large",
    415: "unsupported-media-type",
}


def problem(
    status: int, error_id: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"urn:safenum:error:{error_id}",
        "title": error_id,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _domain_problem(exc: DomainError) -> JSONResponse:
    extra = {"errors": [{"field": exc.field, "reason": exc.message}]} if exc.field else {}
    headers = getattr(exc, "headers", None)
    return problem(exc.status, exc.error_id, exc.message, headers, **extra)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return _domain_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_field_error(e) for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem(422, "invalid-value", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error_id = _HTTP_IDS.get(exc.status_code, f"http-{exc.status_code}")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names only the first route's methods
            headers["Allow"] = allowed_methods(request, headers.get("Allow", ""))
        return problem(exc.status_code, error_id, str(exc.detail), headers)

    # Outages of a dependency: translated once here, so routes never catch them.
    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def _redis(_: Request, exc: Exception) -> JSONResponse:
        log.warning("redis unavailable: %s", type(exc).__name__)
        return _domain_problem(CacheUnavailable())

    @app.exception_handler(AmiUnavailable)
    async def _ami(_: Request, exc: AmiUnavailable) -> JSONResponse:
        log.warning("AMI unavailable: %s", type(exc).__name__)
        return _domain_problem(PbxUnavailable())


def _field_error(error: Any) -> dict[str, str]:
    if error["type"] == "json_invalid":  # loc is ("body", <character offset>)
        where = error["loc"][-1]
        reason = error.get("ctx", {}).get("error", "malformed")
        return {"field": "body", "reason": f"not valid JSON: {reason} at character {where}"}
    field = ".".join(str(p) for p in error["loc"] if p != "body")
    return {"field": field, "reason": error["msg"]}


def allowed_methods(request: Request, fallback: str = "") -> str:
    """Every method the OpenAPI document lists for this path (Starlette names only the
    methods of the first route that matched the path; a path may be split over routes).
    Pages outside the document keep Starlette's answer."""
    paths = request.app.openapi().get("paths", {})
    path = request.url.path
    matching = [path] if path in paths else [t for t in paths if _template(t).fullmatch(path)]
    methods = {m.upper() for t in matching for m in paths[t] if m.upper() in _METHODS}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods)) if methods else fallback


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@functools.cache
def _template(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)))
