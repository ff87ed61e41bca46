"""Settings -> Asterisk: the one place ``SAFENUM_*`` values become PBX configuration."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from app_api.settings import Settings
from numbering.crypto import Keyring
from proxy.ami import AmiSettings
from proxy.asterisk.config import AsteriskConfig
from proxy.asterisk.install import AsteriskInstall

AMI_USER = "safenum"


def ensure_secret_file(path: Path) -> str:
    """Read the generated AMI secret, creating it (mode 0600) on first use."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its secret
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    return secret


def ami_secret(settings: Settings) -> str:
    if settings.ami_secret is not None:
        return settings.ami_secret.get_secret_value()
    return ensure_secret_file(settings.data_dir / "ami.secret")


def caller_ref_key(settings: Settings) -> str:
    """The dialplan's caller-reference key, derived from the master key (never stored)."""
    return Keyring.from_file(settings.key_file).lookup_hash("asterisk", "caller-ref v1").hex()


def asterisk_config(settings: Settings) -> AsteriskConfig:
    """The one place Settings become an :class:`AsteriskConfig` (the bridge reuses it)."""
    host, _, port = settings.trunk_addr.rpartition(":")
    return AsteriskConfig(
        config_dir=settings.asterisk_dir.resolve(),
        sip_port=settings.sip_port,
        trunk_host=host,
        trunk_port=int(port),
        ami_port=settings.ami_port,
        ami_user=AMI_USER,
        ami_secret=ami_secret(settings),
        dial_timeout=settings.dial_timeout_seconds,
        menu=settings.call_menu,
        menu_timeout=settings.call_menu_timeout_seconds,
        callback_window=settings.callback_window_seconds,
        caller_ref_key=caller_ref_key(settings),
        install=AsteriskInstall.locate(settings.asterisk_binary),
    )


def ami_settings(settings: Settings) -> AmiSettings:
    return AmiSettings(
        host="127.0.0.1", port=settings.ami_port, username=AMI_USER, secret=ami_secret(settings)
    )
