"""Settings -> Asterisk: the one place ``SAFENUM_*`` values become PBX configuration."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app_api.settings import Settings
from app_api.wiring import Core
from numbering.atomic_files import publish_once
from numbering.crypto import Keyring
from proxy.ami import AmiClient, AmiSettings
from proxy.asterisk.config import AsteriskConfig
from proxy.asterisk.install import AsteriskInstall
from proxy.bridge import Bridge, BridgeConfig, RelayConfig, TextRelay
from proxy.messaging import CallerRefs

if TYPE_CHECKING:
    from blocking.filter import MessageFilter

AMI_USER = "safenum"


def ensure_secret_file(path: Path) -> str:
    """Read the generated secret at ``path``, creating it (mode 0600) on first use.

    Race-safe through :func:`numbering.atomic_files.publish_once`: the first writer
    wins, every caller returns what the file holds (the winner's secret), a reader never
    sees a half-written file, and an existing secret is never overwritten."""
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    publish_once(path, (secrets.token_urlsafe(32) + "\n").encode("ascii"))
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    secret = path.read_text(encoding="ascii").strip()
    if not secret:  # never a usable key; left by a crash of a version that wrote in place
        raise RuntimeError(f"{path} is empty: delete it and a new secret is generated")
    return secret


def ami_secret(settings: Settings) -> str:
    if settings.ami_secret is not None:
        return settings.ami_secret.get_secret_value()
    return ensure_secret_file(settings.data_dir / "ami.secret")


def caller_ref_key(settings: Settings) -> str:
    """The dialplan's caller-reference key, derived from the master key; it is written only
    into the rendered dialplan (0600), never logged (deploy/asterisk/README.md)."""
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
        prompt_cache_dir=settings.prompt_cache_path.resolve(),
        install=AsteriskInstall.locate(settings.asterisk_binary),
    )


def ami_settings(settings: Settings) -> AmiSettings:
    return AmiSettings(
        host="127.0.0.1", port=settings.ami_port, username=AMI_USER, secret=ami_secret(settings)
    )


def bridge_config(settings: Settings) -> BridgeConfig:
    return BridgeConfig(
        node=settings.node_name,
        redis_url=settings.redis_url,
        reconcile_interval_seconds=settings.reconcile_interval_seconds,
        poll_seconds=settings.outbox_poll_seconds,
        callback_window_seconds=settings.callback_window_seconds,
        call_records_retention_days=settings.call_records_retention_days,
        caller_sweep_numbers=settings.caller_sweep_numbers,
        caller_sweep_window_minutes=settings.caller_sweep_window_minutes,
        caller_sweep_block_hours=settings.caller_sweep_block_hours,
    )


def relay_config(settings: Settings) -> RelayConfig:
    return RelayConfig(
        trunk=settings.trunk_addr,
        node=settings.node_name,
        text_retention_days=settings.text_retention_days,
        sender_window_minutes=settings.text_sender_window_minutes,
        sender_max_numbers=settings.text_sender_max_numbers,
        sender_per_minute=settings.text_sender_per_minute,
        sender_block_hours=settings.text_sender_block_hours,
        filter_model_path=settings.filter_model_path,
        filter_spam_example_days=settings.filter_spam_example_days,
        filter_ham_example_days=settings.filter_ham_example_days,
    )


def build_bridge(
    core: Core,
    settings: Settings,
    redis_async: aioredis.Redis,
    message_filter: MessageFilter | None = None,
) -> Bridge:
    """One bridge (AMI link, replicas, call events, text relay) for this node."""
    ami = AmiClient(ami_settings(settings))
    relay = TextRelay(
        core,
        ami,
        CallerRefs(*asterisk_config(settings).ref_keys()),
        relay_config(settings),
        redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=2,
            socket_connect_timeout=2,
            retry=Retry(NoBackoff(), 1),
        ),
        message_filter,
    )
    return make_bridge(core, ami, redis_async, relay)


def make_bridge(
    core: Core, ami: AmiClient, redis_async: aioredis.Redis, relay: TextRelay | None = None
) -> Bridge:
    """A bridge on ``ami`` configured from ``core.settings``, woken by this process's
    commits."""
    bridge = Bridge(core, ami, redis_async, bridge_config(core.settings), relay)
    core.outbox_hints.append(bridge.wake)
    return bridge
