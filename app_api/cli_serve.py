"""``safenum serve``: the HTTP API and, in the same process, the bridge of this node."""

from __future__ import annotations

import uvicorn

from app_api.settings import Settings


def serve() -> None:
    """Run the HTTP API on SAFENUM_HTTP_HOST:SAFENUM_HTTP_PORT."""
    settings = Settings()
    uvicorn.run(
        "app_api.main:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
