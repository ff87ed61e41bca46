"""``safenum asterisk`` commands that need no running Asterisk."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app_api.cli_asterisk import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFENUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SAFENUM_TRUNK_ADDR", "127.0.0.1:25070")
    monkeypatch.setenv("SAFENUM_SIP_PORT", "25060")
    monkeypatch.setenv("SAFENUM_AMI_PORT", "25038")
    monkeypatch.delenv("SAFENUM_AMI_SECRET", raising=False)
    return tmp_path


def test_config_renders_and_generates_a_private_secret(env: Path) -> None:
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["config_dir"] == str((env / "asterisk").resolve())
    assert "pjsip.conf" in payload["files"]
    secret_file = env / "ami.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert f"secret = {secret}" in (env / "asterisk" / "manager.conf").read_text()
    assert secret not in result.stdout
    # A second run keeps the same secret.
    assert runner.invoke(app, ["config"]).exit_code == 0
    assert secret_file.read_text().strip() == secret


def test_explicit_secret_wins(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFENUM_AMI_SECRET", "explicit-secret-0123456789")
    assert runner.invoke(app, ["config"]).exit_code == 0
    assert not (env / "ami.secret").exists()
    assert "explicit-secret-0123456789" in (env / "asterisk" / "manager.conf").read_text()


def test_errors_exit_2_with_one_line(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFENUM_TRUNK_ADDR", "carrier.example:5060")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "trunk_host" in result.stderr


def test_status_of_a_stopped_instance(env: Path) -> None:
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["running"] is False
