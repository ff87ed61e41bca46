"""``safenum bridge`` (run the PBX side for one Asterisk node) and ``safenum bridges``.

``safenum serve`` runs one bridge in-process for the single-node default; a
deployment with several Asterisk nodes, or several ``serve`` processes on one node
(``SAFENUM_SERVE_BRIDGE=false``), runs one ``safenum bridge`` per node, each with its
own ``SAFENUM_NODE_NAME``, ``SAFENUM_AMI_PORT`` (and secret) and the shared database
and Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from typing import Annotated

import redis.asyncio as aioredis
import typer

from app_api import logs
from app_api.pbx_config import build_bridge
from app_api.settings import Settings
from app_api.wiring import Core
from numbering.errors import NotFound
from numbering.outbox import Outbox
from proxy.bridge import Bridge
from proxy.bridge.gate import NodeGate
from proxy.kamailio.rpc import EdgeRpc

log = logging.getLogger("safenum.bridge")

app = typer.Typer(
    no_args_is_help=True, help="The bridges (one per Asterisk node) and their positions."
)


async def _run(settings: Settings) -> None:
    core = Core.build(settings)
    client = aioredis.from_url(settings.redis_url, socket_timeout=2)
    bridge = build_bridge(core, settings, client)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await bridge.start()
    gate = _gate(settings, bridge)
    log.info("bridge %s started", settings.node_name)
    try:
        await stop.wait()
    finally:
        if gate is not None:
            gate.cancel()
        await bridge.stop()
        await client.aclose()
        core.close()


def _gate(settings: Settings, bridge: Bridge) -> asyncio.Task[None] | None:
    """With an edge (SAFENUM_EDGE_RPC_SOCKET), the node takes calls only while caught up."""
    if settings.edge_rpc_socket is None:
        return None
    uri = f"sip:{settings.node_sip_host}:{settings.sip_port}"
    gate = NodeGate(EdgeRpc(settings.edge_rpc_socket), uri, lambda: bridge.caught_up)
    return asyncio.create_task(gate.watch_forever(), name="bridge-gate")


def bridge() -> None:
    """Run the bridge of one Asterisk node (SAFENUM_NODE_NAME, SAFENUM_AMI_PORT) until
    SIGINT or SIGTERM: outbox to AstDB, call events, text relay."""
    settings = Settings()
    logs.configure(settings.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(settings))


@app.command("list")
def bridges_list() -> None:
    """Registered bridges and how far into the outbox each has applied."""
    core = Core.build(Settings())
    with core.reading("cli") as svc:
        outbox = Outbox(svc.repo.session)
        head = outbox.head()
        nodes = [
            {
                "name": n.name,
                "position": n.position,
                "behind": max(0, head - n.position),
                "seen_at": n.seen_at.isoformat(),
            }
            for n in outbox.nodes()
        ]
    typer.echo(json.dumps({"head": head, "bridges": nodes}))


@app.command("forget")
def bridges_forget(
    name: Annotated[str, typer.Argument(help="the SAFENUM_NODE_NAME of a retired node")],
) -> None:
    """Unregister a node whose Asterisk was retired and its AstDB destroyed: deletions
    stop waiting for it. A bridge that runs again under that name re-registers after a
    full reconcile."""
    core = Core.build(Settings())
    with core.writing("cli") as session:
        if not Outbox(session).forget(name):
            raise NotFound(f"no bridge named {name}", field="name")
    typer.echo(json.dumps({"forgotten": name}))
