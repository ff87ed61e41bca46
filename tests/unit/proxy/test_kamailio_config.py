"""The Kamailio edge's rendered configuration: the values land where they must."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.kamailio.config import EdgeConfig, EdgeConfigError, EdgeNode, render

NODES = (EdgeNode("node-1", "10.0.0.11", 5060), EdgeNode("node-2", "10.0.0.12", 5080))


def config(**changes: object) -> EdgeConfig:
    values: dict[str, object] = {
        "config_dir": Path("/srv/safenum/kamailio"),
        "sip_port": 5060,
        "trunk_host": "203.0.113.7",
        "trunk_port": 5070,
        "nodes": NODES,
        **changes,
    }
    return EdgeConfig(**values)  # type: ignore[arg-type]


def test_every_placeholder_is_filled_and_the_lists_name_the_trunk_and_the_nodes() -> None:
    files = render(config())
    cfg = files["kamailio.cfg"]
    assert "{{" not in cfg
    assert "listen=udp:0.0.0.0:5060" in cfg
    assert 'modparam("jsonrpcs", "dgram_socket", "/srv/safenum/kamailio/run/rpc.sock")' in cfg
    assert 'modparam("jsonrpcs", "transport", 4)' in cfg  # RPC on the local socket only
    assert '$du = "sip:203.0.113.7:5070";' in cfg  # the nodes' own requests go to the trunk
    lists = [line for line in files["dispatcher.list"].splitlines() if not line.startswith("#")]
    assert lists == [
        "1 sip:10.0.0.11:5060 0 0 name=node-1",
        "1 sip:10.0.0.12:5080 0 0 name=node-2",
    ]
    trunk = [line for line in files["address.list"].splitlines() if not line.startswith("#")]
    assert trunk == ["1 203.0.113.7 32 0 trunk"]


def test_texts_are_checked_against_the_table_in_use_and_nodes_behind_their_gate() -> None:
    cfg = render(config())["kamailio.cfg"]
    assert "$sht(numa=>$var(n)) == $null" in cfg
    assert "$sht(numb=>$var(n)) == $null" in cfg
    assert cfg.count("$sht(gate=>$du)") == 2  # first choice and every failover
    assert 'sl_send_reply("404", "Not Found")' in cfg
    assert 'allow_source_address("1")' in cfg


def test_timers_and_probes_follow_the_settings() -> None:
    cfg = render(config(ping_interval=3, failover_ms=900, flood_requests=50))["kamailio.cfg"]
    assert 'modparam("dispatcher", "ds_ping_interval", 3)' in cfg
    assert 'modparam("tm", "fr_timer", 900)' in cfg
    assert 'modparam("pike", "reqs_density_per_unit", 50)' in cfg


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"trunk_host": "carrier.example"}, "trunk_host must be an IPv4 address"),
        ({"nodes": ()}, "at least one node"),
        ({"nodes": (NODES[0], NODES[0])}, "unique"),
        ({"nodes": (EdgeNode("n", "203.0.113.7", 5070),)}, "the trunk cannot be a node"),
        ({"failover_ms": 50}, "failover_ms"),
        ({"config_dir": Path("relative")}, "absolute"),
        ({"config_dir": Path("/" + "x" * 120)}, "too long"),
    ],
)
def test_unsafe_values_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(EdgeConfigError, match=message):
        config(**changes)


def test_a_node_name_cannot_inject_into_the_list() -> None:
    with pytest.raises(EdgeConfigError, match="node name"):
        EdgeNode("node-1 0 0\n1 sip:evil", "10.0.0.1", 5060)
