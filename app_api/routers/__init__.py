"""HTTP routes, versioned under /v1; each parses, calls one service method, serialises."""

from __future__ import annotations

from fastapi import APIRouter

from app_api.routers import auth, drivers, ops, preferences, public, records

router = APIRouter()
for module in (auth, drivers, preferences, records, ops, public):
    router.include_router(module.router)
