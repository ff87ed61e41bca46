"""The FastAPI application and its lifespan: the composition root of ``safenum serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.orm import Session

from app_api import health, idempotency, logs, metrics, openapi, problems
from app_api.bodylimit import BodyLimit
from app_api.pbx_config import ami_settings, build_bridge
from app_api.routers import router as api_router
from app_api.routers import web
from app_api.settings import Settings
from app_api.state import ApiState
from app_api.wiring import Core
from blocking.blocks import BlockService
from numbering.outbox import Outbox
from numbering.views import SweepResult
from proxy.ami import AmiClient
from proxy.bridge.hints import RedisHint
from proxy.bridge.senders import PbxGatedSender, TextSender, make_text_sender

log = logging.getLogger("safenum")


SWEEP_LOCK = 0x5AFE_5EE9
"""pg_advisory_xact_lock key of the scheduled sweep: one ``serve`` sweeps at a time."""

OUTBOX_KEEP = timedelta(hours=1)
"""Applied outbox entries are kept this long (a bridge in mid-reconcile may need them)."""


def sweep_once(core: Core) -> tuple[SweepResult, int, int]:
    """One scheduled pass: release expired numbers, end quarantines, forget old
    Idempotency-Key answers, delete automatic caller blocks that ended, trim the
    outbox entries every bridge has applied. One transaction (its releases and
    expired blocks reach Asterisk through the outbox). Returns the sweep, answers
    forgotten and blocks expired."""
    keep = timedelta(hours=core.settings.idempotency_retention_hours)
    with core.numbers("sweep") as svc:
        session = svc.repo.session
        if not _sweep_lease(session):
            return SweepResult(0, 0), 0, 0  # another serve is sweeping right now
        result = svc.sweep()
        forgotten = idempotency.purge(session, core.clock() - keep)
        expired = BlockService(session, core.clock, "sweep").expire_auto_blocks(core.clock())
        Outbox(session).trim(core.clock() - OUTBOX_KEEP)
    return result, forgotten, expired


def _sweep_lease(session: Session) -> bool:
    """Any number of ``serve`` processes may run: on PostgreSQL the sweep's transaction
    first takes a transaction-scoped advisory lock without waiting, and a process that
    does not get it skips this pass (the holder does the work; the next pass of either
    finds what is left). SQLite has one writer at a time: a second sweep starts after
    the first committed and finds nothing left to do."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    taken = session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SWEEP_LOCK})
    return bool(taken)


async def _sweep_forever(core: Core) -> None:
    """Run ``sweep_once`` on a schedule; a failed pass is logged and retried."""
    while True:
        try:
            result, forgotten, expired = await asyncio.to_thread(sweep_once, core)
            if result.released or result.freed or forgotten or expired:
                log.info(
                    "sweep released=%d freed=%d idempotency_forgotten=%d blocks_expired=%d",
                    result.released,
                    result.freed,
                    forgotten,
                    expired,
                )
        except Exception:
            log.exception("sweep failed; retrying next interval")
        await asyncio.sleep(core.settings.sweep_interval_seconds)


def create_app(
    settings: Settings | None = None,
    core: Core | None = None,
    text_sender: TextSender | None = None,
) -> FastAPI:
    settings = settings or Settings()
    logs.configure(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = core or Core.build(settings)
        app.state.core = built
        app.state.redis = aioredis.from_url(settings.redis_url, socket_timeout=2)
        app.state.readiness = health.Readiness()
        hint = RedisHint(settings.redis_url)  # wakes bridges of other processes
        built.outbox_hints.append(hint)
        bridge = build_bridge(built, settings, app.state.redis) if settings.serve_bridge else None
        # API only: one AMI link for the service's own texts (sign-in codes, move-car
        # texts), no bridge work on it; this node's `safenum bridge` applies the outbox.
        ami = bridge.ami if bridge is not None else AmiClient(ami_settings(settings))
        app.state.bridge = bridge
        app.state.ami = ami
        app.state.readiness.checks["ami"] = lambda: ami.connected
        if bridge is not None:
            app.state.readiness.checks["replica"] = lambda: bridge.ready
        sender = text_sender or make_text_sender(
            settings.env, ami, settings.trunk_addr, asyncio.get_running_loop()
        )
        if settings.env == "production":
            sender = PbxGatedSender(sender, lambda: ami.connected)
        app.state.api = ApiState.build(built, settings, sender)
        await (bridge.start() if bridge is not None else ami.start())
        sweeper = asyncio.create_task(_sweep_forever(built))
        try:
            yield
        finally:
            if bridge is not None:
                await bridge.stop()
                built.outbox_hints.remove(bridge.wake)
            else:
                await ami.close()
            built.outbox_hints.remove(hint)
            hint.close()
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await app.state.redis.aclose()
            app.state.api.close()
            if core is None:
                built.close()

    app = FastAPI(
        title="safenum",
        version="0.1.0",
        lifespan=lifespan,
        description="Safe parking numbers: the drivers' app, the public card page and the "
        "operators' console. Errors are application/problem+json; branch on `title`.",
    )
    problems.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.http_max_body_bytes)
    openapi.install(app)
    metrics.install(app, lambda: bool(getattr(app.state, "ami", None) and app.state.ami.connected))
    app.include_router(health.router)
    app.include_router(api_router)
    app.include_router(web.router)
    return app
