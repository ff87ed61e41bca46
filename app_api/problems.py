"""RFC 9457 problem+json for every error, so clients branch on a stable id."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from numbering.errors import DomainError

PROBLEM = "application/problem+json"


def problem(status: int, error_id: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"urn:safenum:error:{error_id}",
        "title": error_id,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        extra = {"errors": [{"field": exc.field, "reason": exc.message}]} if exc.field else {}
        return problem(exc.status, exc.error_id, exc.message, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "reason": e["msg"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem(422, "invalid-value", detail, errors=errors)
