"""Outgoing texts (sign-in codes, move-car requests, released texts) behind one protocol.

Production sends with Asterisk's MessageSend over the bridge's AMI link
(:class:`AmiTextSender`); development and tests log the text (phone masked, body in
clear: a developer needs the code). A sender that cannot reach the phone system
raises ``pbx-unavailable`` rather than pretend a text went out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from numbering.types import OwnerPhone, SafeNumber
from proxy.ami import AmiClient, AmiError
from proxy.errors import PbxUnavailable
from proxy.messaging import SERVICE_USER, send_text

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


class AmiTextSender:
    """AMI MessageSend on the bridge's link, for request handlers in worker threads.

    A sign-in code goes out from the service name (``SERVICE_USER``); a text for a
    driver's number goes out from that 050 number.
    """

    def __init__(
        self,
        ami: AmiClient,
        loop: asyncio.AbstractEventLoop,
        trunk: str,
        timeout: float = 5.0,
    ) -> None:
        self.ami = ami
        self.loop = loop
        self.trunk = trunk
        self.timeout = timeout

    def send(self, to: OwnerPhone, body: str, *, sender: SafeNumber | None = None) -> None:
        if not self.ami.connected:
            raise PbxUnavailable()
        from_user = sender.digits if sender is not None else SERVICE_USER
        job = asyncio.run_coroutine_threadsafe(
            send_text(self.ami, self.trunk, to.national_digits, from_user, body), self.loop
        )
        try:
            job.result(self.timeout)
        except (AmiError, TimeoutError) as exc:
            job.cancel()
            raise PbxUnavailable(f"the phone system did not take the text ({exc})") from exc


def make_text_sender(
    env: str,
    ami: AmiClient | None = None,
    trunk: str = "",
    loop: asyncio.AbstractEventLoop | None = None,
) -> TextSender:
    """Production: MessageSend over ``ami``; elsewhere the logging sender."""
    if env == "production":
        if ami is None or loop is None:
            return UnavailableTextSender()
        return AmiTextSender(ami, loop, trunk)
    return LoggingTextSender()
