"""Render the Kamailio edge's configuration (``deploy/kamailio/``).

Like :mod:`proxy.asterisk.config`: the template is the reviewed artefact, this
module fills in the values that differ between machines, rendering is a pure
function of :class:`EdgeConfig` and the writer is separate.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kamailio"

MODULE_DIR_CANDIDATES = (
    Path("/usr/lib/x86_64-linux-gnu/kamailio/modules"),  # Debian bookworm 5.6
    Path("/usr/lib/aarch64-linux-gnu/kamailio/modules"),
    Path("/usr/lib64/kamailio/modules"),
    Path("/usr/lib/kamailio/modules"),
)

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_UNIX_PATH_MAX = 107


class EdgeConfigError(ValueError):
    """A value that would render a configuration Kamailio rejects or that is unsafe."""


def find_module_dir(candidates: tuple[Path, ...] = MODULE_DIR_CANDIDATES) -> Path:
    """The first directory that holds ``dispatcher.so`` (the path differs per distribution)."""
    for candidate in candidates:
        if (candidate / "dispatcher.so").is_file():
            return candidate
    raise EdgeConfigError("no Kamailio module directory with dispatcher.so found")


@dataclass(frozen=True, slots=True)
class EdgeNode:
    """One Asterisk node behind the edge: where it takes SIP."""

    name: str
    host: str
    sip_port: int

    def __post_init__(self) -> None:
        if not _NODE_NAME.match(self.name):
            raise EdgeConfigError(
                f"node name must be letters, digits, '.', '_' or '-': {self.name}"
            )
        _ipv4("node host", self.host)
        _port("node sip_port", self.sip_port)

    @property
    def uri(self) -> str:
        return f"sip:{self.host}:{self.sip_port}"


@dataclass(frozen=True)
class EdgeConfig:
    """Everything that varies between two Kamailio edges."""

    config_dir: Path
    sip_port: int
    trunk_host: str
    trunk_port: int
    nodes: tuple[EdgeNode, ...]
    sip_bind_host: str = "0.0.0.0"  # noqa: S104 - the carrier reaches us from outside
    ping_interval: int = 2
    """Seconds between OPTIONS probes of each node."""
    failover_ms: int = 1500
    """A node that has not answered (not even 100 Trying) by then is skipped."""
    invite_timeout_ms: int = 180_000
    """How long a call may ring (past every dial and menu timeout)."""
    flood_requests: int = 2000
    """Requests one source may send per 2 s before pike answers 503."""
    htable_bits: int = 16
    """log2 of the routable-number tables' bucket count (24 for ~10^7 numbers)."""
    children: int = 2
    shm_mb: int = 64
    """Shared memory, where the tables live (see docs/scaling.md for the size per number)."""
    debug: int = 1
    module_dir: Path = MODULE_DIR_CANDIDATES[0]
    templates_dir: Path = TEMPLATES_DIR

    def __post_init__(self) -> None:
        if not self.config_dir.is_absolute():
            raise EdgeConfigError(f"config_dir must be absolute: {self.config_dir}")
        if len(str(self.rpc_socket)) > _UNIX_PATH_MAX:
            raise EdgeConfigError("config_dir is too long for the RPC socket path")
        _port("sip_port", self.sip_port)
        _port("trunk_port", self.trunk_port)
        _ipv4("trunk_host", self.trunk_host)
        _ipv4("sip_bind_host", self.sip_bind_host)
        if not self.nodes:
            raise EdgeConfigError("an edge needs at least one node")
        if len({n.name for n in self.nodes}) != len(self.nodes):
            raise EdgeConfigError("node names must be unique")
        if len({n.uri for n in self.nodes}) != len(self.nodes):
            raise EdgeConfigError("node addresses must be unique")
        if (self.trunk_host, self.trunk_port) in {(n.host, n.sip_port) for n in self.nodes}:
            raise EdgeConfigError("the trunk cannot be a node")
        if not 1 <= self.ping_interval <= 60:
            raise EdgeConfigError("ping_interval must be 1..60 seconds")
        if not 100 <= self.failover_ms <= 30_000:
            raise EdgeConfigError("failover_ms must be 100..30000")
        if not 10_000 <= self.invite_timeout_ms <= 600_000:
            raise EdgeConfigError("invite_timeout_ms must be 10000..600000")
        if not 10 <= self.flood_requests <= 1_000_000:
            raise EdgeConfigError("flood_requests must be 10..1000000")
        if not 4 <= self.htable_bits <= 26:
            raise EdgeConfigError("htable_bits must be 4..26")
        if not 1 <= self.children <= 64:
            raise EdgeConfigError("children must be 1..64")
        if not 16 <= self.shm_mb <= 65536:
            raise EdgeConfigError("shm_mb must be 16..65536")

    @property
    def cfg_file(self) -> Path:
        return self.config_dir / "kamailio.cfg"

    @property
    def dispatcher_file(self) -> Path:
        return self.config_dir / "dispatcher.list"

    @property
    def address_file(self) -> Path:
        return self.config_dir / "address.list"

    @property
    def rpc_socket(self) -> Path:
        return self.config_dir / "run" / "rpc.sock"

    @property
    def pid_file(self) -> Path:
        return self.config_dir / "run" / "kamailio.pid"

    @property
    def log_file(self) -> Path:
        return self.config_dir / "log" / "kamailio.log"

    def values(self) -> Mapping[str, str]:
        return {
            "debug": str(self.debug),
            "children": str(self.children),
            "sip_bind_host": self.sip_bind_host,
            "sip_port": str(self.sip_port),
            "module_dir": str(self.module_dir),
            "rpc_socket": str(self.rpc_socket),
            "failover_ms": str(self.failover_ms),
            "invite_timeout_ms": str(self.invite_timeout_ms),
            "address_file": str(self.address_file),
            "flood_requests": str(self.flood_requests),
            "htable_bits": str(self.htable_bits),
            "dispatcher_file": str(self.dispatcher_file),
            "ping_interval": str(self.ping_interval),
            "trunk_host": self.trunk_host,
            "trunk_port": str(self.trunk_port),
        }


def _port(name: str, value: int) -> None:
    if not 0 < value < 65536:
        raise EdgeConfigError(f"{name} out of range: {value}")


def _ipv4(name: str, value: str) -> None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError as exc:
        # Matching a source needs a literal address; a name would resolve once at load.
        raise EdgeConfigError(f"{name} must be an IPv4 address") from exc


def render_template(text: str, values: Mapping[str, str]) -> str:
    """Fill ``{{name}}`` placeholders; an unknown placeholder is an error, not a blank."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise EdgeConfigError(f"template placeholder {{{{{name}}}}} has no value")
        return values[name]

    return _PLACEHOLDER.sub(fill, text)


def render(config: EdgeConfig) -> dict[str, str]:
    """Every file of the edge, by name: ``kamailio.cfg`` and its two lists."""
    template = (config.templates_dir / "kamailio.cfg.tmpl").read_text(encoding="utf-8")
    nodes = "".join(
        f"1 {node.uri} 0 0 name={node.name}\n" for node in config.nodes
    )  # set, destination, flags (0: active), priority, attributes
    # group 1, address, netmask, port (0: any): the trunk's address. A carrier sends from
    # more than one port; the nodes (same host in a local cluster) are matched first,
    # by address and port, in the config.
    trunk = f"1 {config.trunk_host} 32 0 trunk\n"
    return {
        "kamailio.cfg": render_template(template, config.values()),
        "dispatcher.list": "# Rendered by proxy/kamailio/config.py: the Asterisk nodes.\n" + nodes,
        "address.list": "# Rendered by proxy/kamailio/config.py: the carrier trunk.\n" + trunk,
    }


def write_config(config: EdgeConfig) -> None:
    """Write the rendered files (mode 0600: the RPC path and topology are not public)."""
    for sub in ("run", "log"):
        (config.config_dir / sub).mkdir(parents=True, exist_ok=True)
    for name, text in render(config).items():
        path = config.config_dir / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)
