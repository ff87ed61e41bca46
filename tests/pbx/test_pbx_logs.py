"""Issue 12, hole 4: Asterisk's logs hold no phone number (and no key).

Asterisk 16 wrote ``Call ... to extension '<dialled digits>' rejected`` at NOTICE
for every refused INVITE, and at VERBOSE every dialplan step with its arguments
(the driver's number in ``Dial(PJSIP/010...@trunk)``, caller IDs, AstDB values,
the caller-reference keys at load). The shipped ``logger.conf`` keeps WARNING and
ERROR only; deploy/asterisk/README.md ("What Asterisk logs") says what each level
writes. This test drives every path that handles a number, on the session's
Asterisk (verbose 3, the most talkative setting we run), then reads every file
in its log directory.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from pathlib import Path

from pbx_sipp import CALLER_NUMBER, DRIVER_E164, DRIVER_NATIONAL, Pbx, leaks
from sip_text import Inbox, send_text

from proxy.ami import AmiClient
from proxy.messaging import SPOOL_FAMILY
from proxy.messaging import send_text as ami_send_text
from proxy.replica import ROUTE_FAMILY

NUMBER = "050412345678"
TEXTER = "01077776666"
DIALLED = "01055554444"  # a real-looking mobile number dialled directly: refused
OUTSIDER = "01033332222"  # the caller ID of an INVITE from outside the trunk


def flush_marker(pbx: Pbx) -> str:
    """Make Asterisk log one WARNING we can recognise, and wait until it is on disk.

    The logger writes from one queue in order, so everything logged before the
    marker is on disk once the marker is (no sleeping on a guess)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.2", 0))
        port = sock.getsockname()[1]
        marker = f"from 127.0.0.2:{port} did not pass ACL test"
        options = (
            f"OPTIONS sip:{NUMBER}@127.0.0.1:{pbx.config.sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.2:{port};branch=z9hG4bK{secrets.token_hex(8)}\r\n"
            f"From: <sip:probe@127.0.0.2:{port}>;tag={secrets.token_hex(4)}\r\n"
            f"To: <sip:{NUMBER}@127.0.0.1>\r\nCall-ID: {secrets.token_hex(8)}\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendto(options.encode(), ("127.0.0.1", pbx.config.sip_port))
        messages = pbx.config.config_dir / "log" / "messages.log"
        deadline = time.monotonic() + 10
        while marker not in messages.read_text(errors="replace"):
            assert time.monotonic() < deadline, "the ACL warning never reached messages.log"
            time.sleep(0.05)
    return marker


def logs(pbx: Pbx) -> dict[str, str]:
    folder: Path = pbx.config.config_dir / "log"
    return {p.name: p.read_text(errors="replace") for p in folder.iterdir() if p.is_file()}


async def test_no_phone_number_or_key_reaches_asterisks_logs(pbx: Pbx, ami: AmiClient) -> None:
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    await ami.db_deltree(SPOOL_FAMILY)

    def calls() -> None:
        # Refused with 404: the NOTICE that carried the dialled digits.
        assert pbx.sipp.call(DIALLED).final_status == 404
        # Dial() to the driver's number, busy, then the text offer.
        with pbx.sipp.driver("driver_busy") as phone:
            assert pbx.sipp.call(NUMBER, caller=CALLER_NUMBER).final_status == 200
        assert phone.run is not None
        assert 486 in [m.status for m in phone.run.messages]  # the driver's phone sent it
        # From outside the trunk, with a caller ID: refused by the ACL.
        assert pbx.sipp.call(NUMBER, "127.0.0.2", caller=OUTSIDER).final_status in (401, 403)

    await asyncio.to_thread(calls)
    assert await asyncio.to_thread(send_text, pbx.config.sip_port, NUMBER, TEXTER, b"hi") == 202
    with Inbox(pbx.config.trunk_port) as inbox:
        trunk = f"127.0.0.1:{pbx.config.trunk_port}"
        await ami_send_text(ami, trunk, DRIVER_NATIONAL, NUMBER, "차 좀 빼주세요")
        await asyncio.to_thread(inbox.wait, 1)
    await asyncio.to_thread(flush_marker, pbx)

    files = logs(pbx)
    assert "messages.log" in files
    for name, text in files.items():
        for number in (DIALLED, CALLER_NUMBER, DRIVER_NATIONAL, TEXTER, OUTSIDER):
            assert leaks(text, number) == [], f"{number} in {name}"
        for key in pbx.config.ref_keys():
            assert key not in text, f"a caller-reference key in {name}"
    await ami.db_deltree(SPOOL_FAMILY)
