"""``safenum cluster up|down`` (a local edge + N nodes) and ``safenum edge``.

``cluster up --nodes N`` starts, on loopback and under ``SAFENUM_DATA_DIR/cluster``:
N Asterisk nodes (free SIP and AMI ports, their trunk is the edge), one
``safenum bridge`` per node (``SAFENUM_NODE_NAME=node-i``, gating its node at the
edge), Kamailio on ``SAFENUM_SIP_PORT`` in front of them (the carrier is
``SAFENUM_TRUNK_ADDR``), and ``safenum edge`` keeping Kamailio's table of routable
numbers. It returns once every bridge has registered after its start and the edge's
table is loaded, and prints JSON with every port. ``cluster down`` stops everything
``up`` recorded in ``cluster.json``. On failure: one line on stderr, exit 2, and
nothing left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Annotated, Any, NoReturn

import redis.asyncio as aioredis
import typer

from app_api import logs
from app_api.cli_kamailio import edge_config as kamailio_edge_config
from app_api.pbx_config import asterisk_config, ensure_secret_file
from app_api.settings import Settings
from app_api.wiring import Core
from numbering.outbox import Outbox
from proxy.asterisk.config import AsteriskConfig, write_config, write_prompts
from proxy.asterisk.process import AsteriskSupervisor, wait_until
from proxy.asterisk.procfs import alive, start_logged
from proxy.bridge.edge import ACTIVE, META, EdgeBridge
from proxy.bridge.gate import GATE_TABLE
from proxy.kamailio.config import EdgeConfig, EdgeNode
from proxy.kamailio.config import write_config as write_edge_config
from proxy.kamailio.process import EdgeSupervisor
from proxy.kamailio.rpc import EdgeRpc

log = logging.getLogger("safenum.cluster")

app = typer.Typer(no_args_is_help=True, help="A local cluster: Kamailio and N Asterisk nodes.")

LOOPBACK = "127.0.0.1"
READY_SECONDS = 90.0


def _fail(message: str) -> NoReturn:
    typer.echo(f"safenum cluster: {' '.join(message.split())}", err=True)
    raise SystemExit(2)  # typer.Exit is swallowed under standalone_mode=False


def _free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _safenum(*args: str) -> list[str]:
    return [sys.executable, "-c", "from app_api.cli import main; main()", *args]


# --- the plan ---------------------------------------------------------------
def cluster_dir(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "cluster"


def node_config(settings: Settings, node: dict[str, Any], edge_port: int) -> AsteriskConfig:
    """Node ``i``'s Asterisk: its own dir, ports and AMI secret; its trunk is the edge.
    The caller-reference key is the cluster's one (a caller has one reference)."""
    base = cluster_dir(settings) / node["name"]
    index = int(node["index"])
    return replace(
        asterisk_config(settings),
        config_dir=base / "asterisk",
        sip_port=int(node["sip_port"]),
        sip_bind_host=LOOPBACK,
        trunk_host=LOOPBACK,
        trunk_port=edge_port,
        ami_port=int(node["ami_port"]),
        ami_secret=ensure_secret_file(base / "ami.secret"),
        rtp_port_start=20000 + 1000 * index,
        rtp_port_end=20999 + 1000 * index,
    )


def edge_config(settings: Settings, nodes: list[dict[str, Any]]) -> EdgeConfig:
    """The local cluster's edge: on loopback, in front of the nodes ``up`` started."""
    edge_nodes = tuple(EdgeNode(n["name"], LOOPBACK, int(n["sip_port"])) for n in nodes)
    return kamailio_edge_config(settings, edge_nodes, LOOPBACK)


def _bridge_env(settings: Settings, node: dict[str, Any], config: AsteriskConfig) -> dict[str, str]:
    return {
        **os.environ,
        "SAFENUM_DATA_DIR": str(settings.data_dir.resolve()),
        "SAFENUM_DATABASE_URL": settings.database_url,
        "SAFENUM_REDIS_URL": settings.redis_url,
        "SAFENUM_NODE_NAME": node["name"],
        "SAFENUM_AMI_PORT": str(config.ami_port),
        "SAFENUM_AMI_SECRET": config.ami_secret,
        "SAFENUM_SIP_PORT": str(config.sip_port),
        "SAFENUM_NODE_SIP_HOST": LOOPBACK,
        # The node's trunk is the edge: its texts to drivers go out through Kamailio.
        "SAFENUM_TRUNK_ADDR": f"{LOOPBACK}:{settings.sip_port}",
        "SAFENUM_EDGE_RPC_SOCKET": str(settings.kamailio_dir.resolve() / "run" / "rpc.sock"),
    }


def _spawn(argv: list[str], env: dict[str, str], log_file: Path) -> int:
    return start_logged(argv, log_file, env=env).pid


def _ours(pid: int) -> bool:
    """A live ``safenum`` process (not a stranger that reused a recorded pid)."""
    try:
        return alive(pid) and b"app_api.cli" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _all_gone(pids: list[int]) -> bool:
    return not any(alive(pid) for pid in pids)


def _stop_pids(pids: list[int], timeout: float = 10.0) -> None:
    """SIGTERM to each recorded process that is still ours, then SIGKILL to any still up;
    all are signalled before the wait, so they stop side by side."""
    left = [pid for pid in pids if _ours(pid)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        if wait_until(partial(_all_gone, left), timeout / 2):
            break
        left = [pid for pid in left if alive(pid)]
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def _registered_since(core: Core, names: list[str], since: float) -> list[str]:
    """Nodes whose bridge has not yet (re)registered after ``since`` (epoch seconds)."""
    with core.reading("cluster") as svc:
        seen = {n.name: n.seen_at.timestamp() for n in Outbox(svc.repo.session).nodes()}
    return [name for name in names if seen.get(name, 0.0) < since]


# --- commands -----------------------------------------------------------------
@app.command("up")
def up(
    nodes: Annotated[int, typer.Option("--nodes", min=1, max=16, help="Asterisk nodes")] = 2,
) -> None:
    """Start the edge and NODES Asterisk nodes with their bridges; print their ports."""
    settings = Settings()
    state_file = cluster_dir(settings) / "cluster.json"
    if state_file.exists():
        _fail(f"a cluster is already up ({state_file}); run `safenum cluster down` first")
    from app_api.migrate import upgrade  # Alembic only for the commands that migrate

    core = Core.build(settings)
    upgrade(core.engine)
    plan: dict[str, Any] = {
        "edge": {"sip_port": settings.sip_port, "pid": None, "edge_bridge_pid": None},
        "trunk": settings.trunk_addr,
        "nodes": [
            {
                "name": f"node-{i}",
                "index": i,
                "sip_port": _free_port(socket.SOCK_DGRAM),
                "ami_port": _free_port(socket.SOCK_STREAM),
                "bridge_pid": None,
            }
            for i in range(1, nodes + 1)
        ],
    }
    state_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    try:
        # The nodes boot side by side: each is mostly its own prompt synthesis and
        # module loading. The plan is saved first: if a node fails, _down below stops
        # every node whose directory exists, started or half-started.
        _save(state_file, plan)
        with ThreadPoolExecutor(len(plan["nodes"])) as pool:
            pids = list(pool.map(partial(_node_up, settings), plan["nodes"]))
        for node, pid in zip(plan["nodes"], pids, strict=True):
            node["asterisk_pid"] = pid
        _save(state_file, plan)
        edge = edge_config(settings, plan["nodes"])
        write_edge_config(edge)
        supervisor = EdgeSupervisor(edge, settings.kamailio_binary)
        supervisor.up()
        plan["edge"]["pid"] = supervisor.pid()
        _save(state_file, plan)
        for node in plan["nodes"]:
            config = node_config(settings, node, settings.sip_port)
            node["bridge_pid"] = _spawn(
                _safenum("bridge"),
                _bridge_env(settings, node, config),
                cluster_dir(settings) / node["name"] / "bridge.log",
            )
            _save(state_file, plan)
        plan["edge"]["edge_bridge_pid"] = _spawn(
            _safenum("edge"),
            {
                **os.environ,
                "SAFENUM_DATA_DIR": str(settings.data_dir.resolve()),
                "SAFENUM_DATABASE_URL": settings.database_url,
            },
            cluster_dir(settings) / "edge.log",
        )
        _save(state_file, plan)
        names = [n["name"] for n in plan["nodes"]]
        rpc = EdgeRpc(edge.rpc_socket)
        if not wait_until(lambda: not _registered_since(core, names, started), READY_SECONDS, 0.2):
            late = ", ".join(_registered_since(core, names, started))
            raise RuntimeError(f"bridges not ready after {READY_SECONDS:g}s: {late}")
        if not wait_until(lambda: rpc.table_get(META, ACTIVE) is not None, READY_SECONDS, 0.2):
            raise RuntimeError(f"the edge's table was not loaded after {READY_SECONDS:g}s")
        uris = [f"sip:{LOOPBACK}:{n['sip_port']}" for n in plan["nodes"]]
        if not wait_until(
            lambda: all(rpc.table_get(GATE_TABLE, u) for u in uris), READY_SECONDS, 0.2
        ):
            raise RuntimeError("not every node is open at the edge")
    except Exception as exc:
        _down(settings)
        core.close()
        _fail(f"cluster did not start: {exc}")
    core.close()
    typer.echo(json.dumps(_public(plan, edge)))


def _node_up(settings: Settings, node: dict[str, Any]) -> int | None:
    config = node_config(settings, node, settings.sip_port)
    write_config(config)
    write_prompts(config)
    return AsteriskSupervisor(config).up(timeout=60).pid


def _public(plan: dict[str, Any], edge: EdgeConfig) -> dict[str, Any]:
    return {
        "edge": {"sip_port": plan["edge"]["sip_port"], "rpc_socket": str(edge.rpc_socket)},
        "trunk": plan["trunk"],
        "nodes": [
            {"name": n["name"], "sip_port": n["sip_port"], "ami_port": n["ami_port"]}
            for n in plan["nodes"]
        ],
    }


def _save(path: Path, plan: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(plan), encoding="utf-8")
    tmp.replace(path)


def _down(settings: Settings) -> dict[str, Any]:
    state_file = cluster_dir(settings) / "cluster.json"
    try:
        plan: dict[str, Any] = json.loads(state_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"stopped": []}
    stopped: list[str] = []
    bridges = [plan["edge"].get("edge_bridge_pid")] + [n.get("bridge_pid") for n in plan["nodes"]]
    _stop_pids([int(pid) for pid in bridges if pid])
    if plan["edge"].get("pid"):
        edge = edge_config(settings, plan["nodes"])
        EdgeSupervisor(edge, settings.kamailio_binary).down()
        stopped.append("edge")
    started = [
        node_config(settings, node, settings.sip_port)
        for node in plan["nodes"]
        if node.get("asterisk_pid") or (cluster_dir(settings) / node["name"]).exists()
    ]
    with ThreadPoolExecutor(max(1, len(started))) as pool:  # the nodes stop side by side
        list(pool.map(lambda config: AsteriskSupervisor(config).down(), started))
    stopped += [node["name"] for node in plan["nodes"]]
    state_file.unlink()
    return {"stopped": stopped}


@app.command("down")
def down() -> None:
    """Stop everything `safenum cluster up` started (nothing else)."""
    try:
        result = _down(Settings())
    except Exception as exc:
        _fail(f"cluster did not stop cleanly: {exc}")
    typer.echo(json.dumps(result))


# --- safenum edge -----------------------------------------------------------------
async def _edge(settings: Settings) -> None:
    core = Core.build(settings)
    client = aioredis.from_url(settings.redis_url, socket_timeout=2)
    path = settings.edge_rpc_socket or settings.kamailio_dir / "run" / "rpc.sock"
    bridge = EdgeBridge(core, EdgeRpc(path.resolve()), client, settings.outbox_poll_seconds)
    core.outbox_hints.append(bridge.wake)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await bridge.start()
    try:
        await stop.wait()
    finally:
        await bridge.stop()
        await client.aclose()
        core.close()


def edge() -> None:
    """Keep the Kamailio edge's table of routable numbers from the outbox, until SIGTERM."""
    settings = Settings()
    logs.configure(settings.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_edge(settings))
