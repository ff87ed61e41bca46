"""The systemd units in deploy/systemd: every ``safenum`` command they run exists, and
the production edge's config command renders from ``SAFENUM_EDGE_NODES`` or refuses
in one line."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app_api.cli import app
from app_api.cli_kamailio import edge_nodes
from proxy.kamailio.config import EdgeConfigError

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
SAFENUM = "/opt/safenum/.venv/bin/safenum "


def _commands() -> list[tuple[str, list[str]]]:
    found = []
    for unit in sorted(UNITS.glob("*.service")):
        text = unit.read_text().replace("\\\n", " ")
        for line in re.findall(r"^Exec\w*=(.*)$", text, re.MULTILINE):
            line = re.sub(r"^/usr/bin/env (\w+=\S+ )+", "", line)  # settings fixed per unit
            if line.startswith(SAFENUM):
                found.append((unit.name, line[len(SAFENUM) :].split()))
    return found


def test_the_cluster_has_its_units() -> None:
    names = {unit for unit, _ in _commands()}
    assert {"safenum-kamailio.service", "safenum-edge.service", "safenum-bridge.service"} <= names
    assert ("safenum-bridge.service", ["bridge"]) in _commands()
    assert ("safenum-edge.service", ["edge"]) in _commands()
    assert ("safenum-api@.service", ["serve"]) in _commands()
    api = (UNITS / "safenum-api@.service").read_text()
    assert "SAFENUM_SERVE_BRIDGE=false" in api  # several serves, one bridge per node


@pytest.mark.parametrize(("unit", "argv"), _commands(), ids=lambda v: " ".join(v))
def test_every_safenum_command_of_a_unit_exists(unit: str, argv: list[str]) -> None:
    result = CliRunner().invoke(app, [*argv, "--help"], prog_name="safenum")
    assert result.exit_code == 0, f"{unit}: safenum {' '.join(argv)}: {result.output}"


def test_edge_nodes_are_name_address_port() -> None:
    nodes = edge_nodes(" node-1=10.0.0.11:5060, node-2=10.0.0.12:5062 ,")
    assert [(n.name, n.uri) for n in nodes] == [
        ("node-1", "sip:10.0.0.11:5060"),
        ("node-2", "sip:10.0.0.12:5062"),
    ]
    for bad in ("", "node-1", "node-1=10.0.0.11", "node-1=ast.example:5060", "x y=1.2.3.4:5"):
        with pytest.raises(EdgeConfigError):
            edge_nodes(bad)


def test_kamailio_config_renders_the_nodes_or_says_why_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("SAFENUM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SAFENUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SAFENUM_TRUNK_ADDR", "10.0.0.1:5060")
    missing = CliRunner().invoke(app, ["kamailio", "config"])
    assert missing.exit_code == 2
    assert "SAFENUM_EDGE_NODES" in missing.output
    assert not (tmp_path / "kamailio" / "kamailio.cfg").exists()
    monkeypatch.setenv("SAFENUM_EDGE_NODES", "node-1=10.0.0.11:5060,node-2=10.0.0.12:5060")
    made = CliRunner().invoke(app, ["kamailio", "config"])
    assert made.exit_code == 0, made.output
    listed = (tmp_path / "kamailio" / "dispatcher.list").read_text()
    assert "sip:10.0.0.11:5060" in listed
    assert "sip:10.0.0.12:5060" in listed
