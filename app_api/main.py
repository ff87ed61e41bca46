"""The FastAPI application and its lifespan: the composition root of ``safenum serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import FastAPI

from app_api import health, logs, problems
from app_api.bridge import Bridge
from app_api.pbx_config import ami_settings
from app_api.settings import Settings
from app_api.wiring import Core
from proxy.ami import AmiClient

log = logging.getLogger("safenum")


async def _sweep_forever(core: Core) -> None:
    """Release expired numbers on a schedule; a failed pass is logged and retried."""
    while True:
        try:

            def run() -> None:
                with core.numbers("sweep") as svc:
                    result = svc.sweep()
                if result.released or result.freed:
                    log.info("sweep released=%d freed=%d", result.released, result.freed)

            await asyncio.to_thread(run)
        except Exception:
            log.exception("sweep failed; retrying next interval")
        await asyncio.sleep(core.settings.sweep_interval_seconds)


def create_app(settings: Settings | None = None, core: Core | None = None) -> FastAPI:
    settings = settings or Settings()
    logs.configure(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = core or Core.build(settings)
        app.state.core = built
        app.state.redis = aioredis.from_url(settings.redis_url, socket_timeout=2)
        app.state.readiness = health.Readiness()
        bridge = Bridge(built, AmiClient(ami_settings(settings)), app.state.redis)
        app.state.bridge = bridge
        app.state.readiness.checks["ami"] = lambda: bridge.ami.connected
        app.state.readiness.checks["replica"] = lambda: bridge.replica.ready
        await bridge.start()
        sweeper = asyncio.create_task(_sweep_forever(built))
        try:
            yield
        finally:
            await bridge.stop()
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await app.state.redis.aclose()
            if core is None:
                built.close()

    app = FastAPI(title="safenum", version="0.1.0", lifespan=lifespan)
    problems.install(app)
    app.include_router(health.router)
    return app
