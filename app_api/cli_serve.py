"""``safenum serve``: the HTTP API and, in the same process, the bridge of this node
(outbox to AstDB, call events, text relay).

With ``SAFENUM_SERVE_BRIDGE=false`` serve answers HTTP only, and the node's bridge runs
as ``safenum bridge``: any number of serve processes can then share a node behind an
HTTP load balancer. Everything the API changes reaches Asterisk through the outbox; the
only Asterisk work left in an API-only serve is sending the service's own texts (sign-in
codes, move-car texts) on an AMI link of its own, so a request can say "sent" truly."""

from __future__ import annotations

import socket

from app_api import datadir, logs
from app_api.settings import Settings


def serve() -> None:
    """Run the HTTP API on SAFENUM_HTTP_HOST:SAFENUM_HTTP_PORT."""
    import uvicorn  # here, not at the top: every other command starts without it

    settings = Settings()
    datadir.secure(settings)
    logs.configure(settings.log_level)
    _port_free(settings.http_host, settings.http_port)
    try:
        uvicorn.run(
            "app_api.main:create_app",
            factory=True,
            host=settings.http_host,
            port=settings.http_port,
            log_level=settings.log_level.lower(),
            access_log=False,
        )
    except SystemExit as exc:  # uvicorn logged why (port taken, app failed to start)
        if exc.code not in (0, None):
            raise SystemExit(2) from None
        raise


def _port_free(host: str, port: int) -> None:
    """Refuse in one line when the HTTP port is taken (uvicorn would log several)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OSError(
                exc.errno, f"SAFENUM_HTTP_PORT: {host}:{port} is in use ({exc.strerror})"
            ) from exc
