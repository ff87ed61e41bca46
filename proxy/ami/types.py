"""Typed values that cross the AMI adapter's boundary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal


@dataclass(frozen=True)
class AmiMessage:
    """One AMI packet: a ``Response: <status>`` or an ``Event: <name>``."""

    kind: Literal["response", "event"]
    name: str
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def action_id(self) -> str | None:
        return self.headers.get("ActionID")

    @property
    def is_error(self) -> bool:
        return self.kind == "response" and self.name.lower() == "error"

    @property
    def event_list(self) -> str:
        """``start``/``complete``/``cancelled`` marker of list responses, lower-cased."""
        return self.headers.get("EventList", "").lower()


@dataclass(frozen=True)
class AmiListResult:
    """A list-style answer: the response plus every event up to ``EventList: Complete``."""

    response: AmiMessage
    events: tuple[AmiMessage, ...] = ()


@dataclass(frozen=True)
class AmiSettings:
    """Where and how to reach the manager interface; timings in seconds."""

    host: str
    port: int
    username: str
    secret: str = field(repr=False)
    action_timeout: float = 5.0
    connect_timeout: float = 3.0
    ping_interval: float = 10.0
    backoff_initial: float = 0.1
    backoff_max: float = 5.0
