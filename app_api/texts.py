"""Outgoing texts (sign-in codes, move-car requests) behind one small protocol.

The real sender is Asterisk's MessageSend over AMI, through ``proxy/ami`` like every
other AMI action; it arrives with the call-experience work and plugs in at
``make_text_sender`` (the seam). Until then development and tests log the text
(phone masked, body in clear: a developer needs the code), and production refuses
with ``pbx-unavailable`` rather than pretend a text went out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from app_api.errors import PbxUnavailable
from numbering.types import OwnerPhone, SafeNumber

log = logging.getLogger("safenum.texts")


class TextSender(Protocol):
    def send(self, to: OwnerPhone, body: str, *, sender: SafeNumber | None = None) -> None:
        """Send ``body`` to ``to`` (from the 050 ``sender`` if given); PbxUnavailable if down."""


class LoggingTextSender:
    def __init__(self) -> None:
        self.sent: list[tuple[OwnerPhone, str, SafeNumber | None]] = []  # for tests

    def send(self, to: OwnerPhone, body: str, *, sender: SafeNumber | None = None) -> None:
        self.sent.append((to, body, sender))
        log.info("text to %s from %s: %s", to.masked, sender or "service", body)


class UnavailableTextSender:
    """Production before the AMI sender exists: say so instead of dropping texts."""

    def send(self, to: OwnerPhone, body: str, *, sender: SafeNumber | None = None) -> None:
        raise PbxUnavailable("texts cannot be sent: no text path to the phone system")


class PbxGatedSender:
    """Refuses with ``pbx-unavailable`` while the AMI link is down."""

    def __init__(self, inner: TextSender, pbx_up: Callable[[], bool]) -> None:
        self.inner = inner
        self.pbx_up = pbx_up

    def send(self, to: OwnerPhone, body: str, *, sender: SafeNumber | None = None) -> None:
        if not self.pbx_up():
            raise PbxUnavailable()
        self.inner.send(to, body, sender=sender)


def make_text_sender(env: str) -> TextSender:
    """The seam: return the AMI MessageSend sender here once proxy/ami offers one."""
    if env == "production":
        return UnavailableTextSender()
    return LoggingTextSender()
