"""``safenum kamailio config``: render the production edge's Kamailio configuration.

``safenum cluster up`` renders a loopback edge for its own nodes; a production edge
takes its nodes from ``SAFENUM_EDGE_NODES`` and binds every address on
``SAFENUM_SIP_PORT``. systemd runs Kamailio on the result
(``deploy/systemd/safenum-kamailio.service``). Prints one JSON object; bad settings
exit 2 with one line on stderr.
"""

from __future__ import annotations

import json
from typing import NoReturn

import typer

from app_api.settings import Settings
from proxy.kamailio.config import (
    EdgeConfig,
    EdgeConfigError,
    EdgeNode,
    find_module_dir,
    render,
)
from proxy.kamailio.config import write_config as write_edge_config

app = typer.Typer(no_args_is_help=True, help="The Kamailio edge of a production cluster.")


def _fail(message: str) -> NoReturn:
    typer.echo(f"safenum kamailio: {' '.join(message.split())}", err=True)
    raise SystemExit(2)


def edge_nodes(value: str) -> tuple[EdgeNode, ...]:
    """``node-1=10.0.0.11:5060,node-2=10.0.0.12:5060`` -> the edge's nodes."""
    nodes = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, eq, address = item.partition("=")
        host, colon, port = address.rpartition(":")
        if not (eq and colon and port.isdigit()):
            raise EdgeConfigError(f"SAFENUM_EDGE_NODES: {item!r} is not name=ipv4:port")
        nodes.append(EdgeNode(name.strip(), host.strip(), int(port)))
    if not nodes:
        raise EdgeConfigError("SAFENUM_EDGE_NODES is empty: name the nodes as name=ipv4:port")
    return tuple(nodes)


def edge_config(
    settings: Settings,
    nodes: tuple[EdgeNode, ...],
    bind_host: str = "0.0.0.0",  # noqa: S104
) -> EdgeConfig:
    """The one place Settings become an :class:`EdgeConfig` (``safenum cluster up`` too)."""
    host, _, port = settings.trunk_addr.rpartition(":")
    return EdgeConfig(
        config_dir=settings.kamailio_dir.resolve(),
        sip_port=settings.sip_port,
        sip_bind_host=bind_host,
        trunk_host=host,
        trunk_port=int(port),
        nodes=nodes,
        ping_interval=settings.edge_ping_seconds,
        failover_ms=settings.edge_failover_ms,
        flood_requests=settings.edge_flood_requests,
        shm_mb=settings.edge_shm_mb,
        module_dir=find_module_dir(),
    )


@app.command()
def config() -> None:
    """Render the edge into DATA_DIR/kamailio from SAFENUM_EDGE_NODES and the SIP settings."""
    try:
        settings = Settings()
        edge = edge_config(settings, edge_nodes(settings.edge_nodes))
        write_edge_config(edge)
    except (EdgeConfigError, OSError) as exc:
        _fail(str(exc))
    payload = {
        "config_dir": str(edge.config_dir),
        "cfg_file": str(edge.cfg_file),
        "rpc_socket": str(edge.rpc_socket),
        "files": sorted(render(edge)),
        "nodes": {n.name: n.uri for n in edge.nodes},
    }
    typer.echo(json.dumps(payload, sort_keys=True))
