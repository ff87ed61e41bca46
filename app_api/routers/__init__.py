"""HTTP routes, versioned under /v1; each parses, calls one service method, serialises."""

from __future__ import annotations

from fastapi import APIRouter

from app_api.routers import auth, drivers, ops, ops_texts, preferences, public, records, texts

router = APIRouter()
for module in (auth, drivers, preferences, records, texts, ops, ops_texts, public):
    router.include_router(module.router)
