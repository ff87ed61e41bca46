"""Liveness and readiness: /readyz names each dependency that is down."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter()


@dataclass
class Readiness:
    """Extra checks registered by components (the AMI bridge adds its own)."""

    checks: dict[str, Any] = field(default_factory=dict)


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["health"],
    responses={
        200: {"description": "Every dependency is up: {ready: true, database: up, ...}"},
        503: {
            "description": "Some dependency is down; the body names each one (up|down)",
            "content": {"application/json": {}},
        },
    },
)
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    results: dict[str, str] = {}

    def db_ping() -> None:
        with state.core.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(db_ping), 2)
        results["database"] = "up"
    except Exception:  # any failure means "not ready"; the reason is logged elsewhere
        results["database"] = "down"
    try:
        await asyncio.wait_for(state.redis.ping(), 2)
        results["redis"] = "up"
    except Exception:
        results["redis"] = "down"
    for name, check in state.readiness.checks.items():
        results[name] = "up" if check() else "down"
    ready = all(v == "up" for v in results.values())
    return JSONResponse({"ready": ready, **results}, status_code=200 if ready else 503)
