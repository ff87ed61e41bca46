"""Texts through Asterisk: the inbound spool the dialplan writes, and MessageSend.

Inbound, ``[safenum-text]`` writes every text to a number with a route into
``safenum/msg/<id>`` and announces it with ``UserEvent(SafenumText)``; nothing is
relayed by the dialplan. The spool is the durable hand-off: the bridge reads an
entry when the event arrives or, after an outage, on its next scan, and deletes it
only once the text is stored. Entries look like::

    v1|<050 number>|<epoch>|<From header, base64>|<body, base64>|<Content-Length>

Base64 keeps newlines (which would split an AMI header), Hangul and emoji intact.
res_pjsip_messaging (patched, see ``deploy/asterisk/patches/``) hands the dialplan
no body at all when it is longer than 3,069 bytes and strips trailing line ends; the
declared Content-Length lets the relay record such a text as arrived-but-lost
instead of relaying an empty one.

Outbound, :func:`send_text` is AMI ``MessageSend`` with ``Base64Body`` to the trunk,
``From`` the safe number: the other party's number never appears in it. Asterisk
discards any AMI line over 1,024 bytes, so a body longer than ``PART_BYTES`` goes as
consecutive MESSAGEs whose bodies concatenate to the original bytes (split on
character boundaries, preferably after a line end).

Caller references: the dialplan derives an opaque per-number reference and a
number-independent key from a caller's national digits (keyed nested SHA-1; Asterisk
has no HMAC). :class:`CallerRefs` computes the same values here for a text's sender,
so a driver blocks a texter exactly as they block a caller, and one block covers
both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from proxy.ami import AmiClient
from proxy.dialplan import SAFE_NUMBER, SPOOL_FAMILY, TEXT_EVENT

__all__ = ["SPOOL_FAMILY", "TEXT_EVENT", "CallerRefs", "SpooledText", "parse_spooled", "send_text"]

SENDER_NAME = "안심번호"
ANONYMOUS = "anonymous"
SERVICE_USER = "safenum"  # From user of the service's own texts (sign-in codes)
PART_BYTES = 700  # base64: 936 characters, inside AMI's 1,024-byte line

_NUMBER = SAFE_NUMBER
_NATIONAL = re.compile(r"^0[1-9][0-9]{7,10}$")
_SIP_USER = re.compile(r"<?\s*(?:sips?|tel):([^@;>\s]+)", re.IGNORECASE)
_SPOOL_ID = re.compile(r"^[0-9]{14}-[0-9a-f]{1,40}$")


@dataclass(frozen=True, slots=True)
class SpooledText:
    """One inbound text as the dialplan spooled it; ``sender`` is national digits."""

    spool_id: str
    number: str
    received_at: datetime
    sender: str | None
    body: str
    declared_bytes: int = 0


def parse_spooled(spool_id: str, value: str) -> SpooledText:
    """Decode a spool entry; ValueError when it is not one (the bridge drops it)."""
    if not _SPOOL_ID.match(spool_id):
        raise ValueError("malformed spool id")
    parts = value.split("|")
    if len(parts) != 6 or parts[0] != "v1":
        raise ValueError("unknown spool entry version")
    _, number, epoch, from_b64, body_b64, size = parts
    if not _NUMBER.match(number) or not epoch.isdigit():
        raise ValueError("malformed spool entry")
    try:
        from_header = base64.b64decode(from_b64, validate=True).decode("utf-8", "replace")
        body = base64.b64decode(body_b64, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError) as exc:
        raise ValueError("spool entry is not base64") from exc
    return SpooledText(
        spool_id,
        number,
        datetime.fromtimestamp(int(epoch), UTC),
        national_sender(from_header),
        body,
        int(size) if size.isdigit() else 0,
    )


def national_sender(from_header: str) -> str | None:
    """The sender's national digits from a From header, normalised like the dialplan
    normalises CALLERID(num); None when there is no usable number (anonymous)."""
    match = _SIP_USER.search(from_header)
    user = match.group(1) if match else from_header
    digits = "".join(c for c in user if c.isdigit() or c == "+")
    if digits.startswith("+82"):
        digits = "0" + digits[3:]
    elif digits.startswith("82"):
        digits = "0" + digits[2:]
    return digits if _NATIONAL.match(digits) else None


@dataclass(frozen=True)
class CallerRefs:
    """The dialplan's caller reference and key, from the same two derived secrets."""

    inner: str
    outer: str

    def _sha(self, inside: str) -> str:
        first = hashlib.sha1(f"{self.inner}{inside}".encode(), usedforsecurity=False)
        second = hashlib.sha1(f"{self.outer}{first.hexdigest()}".encode(), usedforsecurity=False)
        return second.hexdigest()[:20]

    def ref(self, number: str, caller: str | None) -> str:
        """Per-number reference: one caller gets unrelated values on two numbers."""
        return ANONYMOUS if caller is None else self._sha(f"{number}{caller}")

    def key(self, caller: str | None) -> str:
        """Number-independent key for the operators' global blocklist."""
        return ANONYMOUS if caller is None else self._sha(f"*{caller}")


async def send_text(ami: AmiClient, trunk: str, to: str, number: str, body: str) -> None:
    """Send ``body`` to the phone ``to`` (national digits) from the safe ``number``.

    Raises :class:`proxy.ami.AmiActionFailed` when Asterisk refuses, or another
    :class:`proxy.ami.AmiError` when the link is down; either way the caller keeps
    the text and retries.
    """
    if not _NATIONAL.match(to) or not (_NUMBER.match(number) or number == SERVICE_USER):
        raise ValueError("send_text needs national digits and a 050 number")
    for part in split_body(body.encode()):
        await ami.action(
            "MessageSend",
            {
                "To": f"pjsip:trunk/sip:{to}@{trunk}",
                "From": f'"{SENDER_NAME}" <sip:{number}@{trunk}>',
                "Base64Body": base64.b64encode(part).decode(),
            },
        )


def split_body(body: bytes, limit: int = PART_BYTES) -> list[bytes]:
    """Parts of at most ``limit`` bytes that concatenate to ``body``; never inside a
    UTF-8 character, and after the last line end in the window when there is one."""
    parts: list[bytes] = []
    while len(body) > limit:
        cut = limit
        while cut > 0 and (body[cut] & 0xC0) == 0x80:  # a continuation byte
            cut -= 1
        newline = body.rfind(b"\n", 0, cut)
        if newline >= limit // 2:
            cut = newline + 1
        parts.append(body[:cut])
        body = body[cut:]
    parts.append(body)
    return parts
