"""Typed asyncio access to the Asterisk Manager Interface (AMI)."""

from proxy.ami.astdb import DbEntry, valid_key
from proxy.ami.client import AmiClient
from proxy.ami.errors import (
    AmiActionFailed,
    AmiError,
    AmiProtocolError,
    AmiTimeout,
    AmiUnavailable,
)
from proxy.ami.events import EventSubscription
from proxy.ami.types import AmiListResult, AmiMessage, AmiSettings

__all__ = [
    "AmiActionFailed",
    "AmiClient",
    "AmiError",
    "AmiListResult",
    "AmiMessage",
    "AmiProtocolError",
    "AmiSettings",
    "AmiTimeout",
    "AmiUnavailable",
    "DbEntry",
    "EventSubscription",
    "valid_key",
]
