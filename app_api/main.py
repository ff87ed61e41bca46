"""The FastAPI application and its lifespan: the composition root of ``safenum serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import redis
import redis.asyncio as aioredis
from fastapi import FastAPI
from redis.backoff import NoBackoff
from redis.retry import Retry

from app_api import health, idempotency, logs, metrics, openapi, problems
from app_api.bodylimit import BodyLimit
from app_api.bridge import Bridge
from app_api.pbx_config import ami_settings, asterisk_config
from app_api.relay import TextRelay
from app_api.routers import router as api_router
from app_api.routers import web
from app_api.settings import Settings
from app_api.state import ApiState
from app_api.texts import PbxGatedSender, TextSender, make_text_sender
from app_api.wiring import Core
from blocking.blocks import BlockService
from numbering.views import SweepResult
from proxy.ami import AmiClient
from proxy.texts import CallerRefs

log = logging.getLogger("safenum")


def sweep_once(core: Core) -> tuple[SweepResult, int, int]:
    """One scheduled pass: release expired numbers, end quarantines, forget old
    Idempotency-Key answers, delete automatic caller blocks that ended. One
    transaction. Returns the sweep, answers forgotten and blocks expired."""
    keep = timedelta(hours=core.settings.idempotency_retention_hours)
    with core.numbers("sweep") as svc:
        result = svc.sweep()
        forgotten = idempotency.purge(svc.repo.session, core.clock() - keep)
        blocks = BlockService(svc.repo.session, core.clock, "sweep")
        expired = blocks.expire_auto_blocks(core.clock())
    return result, forgotten, expired


async def _sweep_forever(core: Core, global_blocks_changed: Callable[[], None]) -> None:
    """Run ``sweep_once`` on a schedule; a failed pass is logged and retried.

    ``global_blocks_changed`` is told after a pass that expired automatic blocks, so
    AstDB drops them now (the bridge's reconcile would, later)."""
    while True:
        try:
            result, forgotten, expired = await asyncio.to_thread(sweep_once, core)
            if expired:
                global_blocks_changed()
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
        ami = AmiClient(ami_settings(settings))
        relay = TextRelay(
            built,
            ami,
            CallerRefs(*asterisk_config(settings).ref_keys()),
            settings.trunk_addr,
            redis.Redis.from_url(
                settings.redis_url,
                socket_timeout=2,
                socket_connect_timeout=2,
                retry=Retry(NoBackoff(), 1),
            ),
        )
        bridge = Bridge(built, ami, app.state.redis, relay)
        app.state.bridge = bridge
        app.state.readiness.checks["ami"] = lambda: bridge.ami.connected
        app.state.readiness.checks["replica"] = lambda: bridge.replica.ready
        sender = text_sender or make_text_sender(
            settings.env, ami, settings.trunk_addr, asyncio.get_running_loop()
        )
        if settings.env == "production":
            sender = PbxGatedSender(sender, lambda: bridge.ami.connected)
        app.state.api = ApiState.build(built, settings, sender)
        await bridge.start()
        sweeper = asyncio.create_task(_sweep_forever(built, bridge.global_blocks_changed))
        try:
            yield
        finally:
            await bridge.stop()
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
    metrics.install(
        app, lambda: bool(getattr(app.state, "bridge", None) and app.state.bridge.ami.connected)
    )
    app.include_router(health.router)
    app.include_router(api_router)
    app.include_router(web.router)
    return app
