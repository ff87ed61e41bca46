"""Settings: defaults under the data dir, clear refusals, and the README documents them all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from app_api.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI exports SAFENUM_DATABASE_URL for the PostgreSQL run; these tests read defaults."""
    for name in list(os.environ):
        if name.startswith("SAFENUM_"):
            monkeypatch.delenv(name)


def test_paths_default_under_the_data_dir(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.database_url == f"sqlite:///{tmp_path / 'safenum.db'}"
    assert s.key_file == tmp_path / "master.key"
    assert s.asterisk_dir == tmp_path / "asterisk"
    assert s.prompt_cache_path == tmp_path / "prompt-cache"


def test_environment_variables_use_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFENUM_MAX_NUMBERS_PER_OWNER", "3")
    monkeypatch.setenv("SAFENUM_TRUNK_ADDR", "10.0.0.5:5080")
    s = Settings()
    assert (s.max_numbers_per_owner, s.trunk_addr) == (3, "10.0.0.5:5080")


@pytest.mark.parametrize("addr", ["nonsense", "host:", ":5060", "host:99999", "host:port"])
def test_trunk_addr_must_be_host_port(addr: str) -> None:
    with pytest.raises(ValidationError, match="host:port"):
        Settings(trunk_addr=addr)


@pytest.mark.parametrize("secret", ["changeme", "short"])
def test_production_refuses_placeholder_secrets(secret: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(env="production", ami_secret=secret)
    Settings(env="development", ami_secret=secret)  # allowed while developing
    Settings(env="production", ami_secret="x7Gq2Lr9Vb4Nw8Pz")


def test_readme_documents_every_setting() -> None:
    text = README.read_text()
    missing = [n for n in Settings.model_fields if f"`SAFENUM_{n.upper()}`" not in text]
    assert missing == []
