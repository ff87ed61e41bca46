"""Capture AMI transcripts from the real Asterisk, or prove the stored ones still hold.

``SAFENUM_CAPTURE_TRANSCRIPTS=1 pytest tests/pbx -k transcripts`` rewrites
``tests/unit/proxy/transcripts/asterisk22.json`` (what ``proxy.ami.testing.FakeAmi``
replays). Without the variable the test compares the live answers with the
stored ones packet by packet (first line and header names in order), so the
fake cannot silently drift from the Asterisk we ship on.
"""

from __future__ import annotations

import json
import os
import socket

from pbx_sipp import Pbx

from proxy.ami.testing import TRANSCRIPTS_DIR, TranscriptBook

STORE = TRANSCRIPTS_DIR / "asterisk22.json"
FAMILY = "safenum/capture"

# (name, action headers, record?) in order; unrecorded steps set up state.
SCRIPT: list[tuple[str, dict[str, str], bool]] = [
    ("ping", {"Action": "Ping"}, True),
    (
        "dbput",
        {"Action": "DBPut", "Family": FAMILY, "Key": "050400000001", "Val": "+821000000001"},
        True,
    ),
    (
        "setup",
        {"Action": "DBPut", "Family": FAMILY, "Key": "050400000002", "Val": "+821000000002"},
        False,
    ),
    ("dbget_found", {"Action": "DBGet", "Family": FAMILY, "Key": "050400000001"}, True),
    ("dbget_missing", {"Action": "DBGet", "Family": FAMILY, "Key": "050400000009"}, True),
    ("dbgettree", {"Action": "DBGetTree", "Family": FAMILY}, True),
    ("dbgettree_empty", {"Action": "DBGetTree", "Family": "safenum/nothing"}, True),
    ("dbdel_ok", {"Action": "DBDel", "Family": FAMILY, "Key": "050400000002"}, True),
    ("dbdel_missing", {"Action": "DBDel", "Family": FAMILY, "Key": "050400000002"}, True),
    ("dbdeltree_ok", {"Action": "DBDelTree", "Family": FAMILY}, True),
    ("dbdeltree_missing", {"Action": "DBDelTree", "Family": FAMILY}, True),
    (
        "filter",
        {"Action": "Filter", "Operation": "Add", "Filter": "^Event: Hangup[[:space:]]"},
        True,
    ),
    ("events", {"Action": "Events", "EventMask": "on"}, True),
    ("command_denied", {"Action": "Command", "Command": "core show version"}, True),
    ("unknown_action", {"Action": "Bogus"}, True),
    ("logoff", {"Action": "Logoff"}, True),
]


class Wire:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""
        self.banner = self._until(b"\r\n").decode()
        self.count = 0

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            assert chunk, "manager closed the connection"
            self.buffer += chunk
        packet, self.buffer = self.buffer.split(marker, 1)
        return packet

    def exchange(self, headers: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        self.count += 1
        action_id = f"capture-{self.count}"
        action = {"Action": headers["Action"], "ActionID": action_id}
        action.update({k: v for k, v in headers.items() if k != "Action"})
        self.sock.sendall("".join(f"{k}: {v}\r\n" for k, v in action.items()).encode() + b"\r\n")
        replies: list[str] = []
        listing = False
        while True:
            packet = self._until(b"\r\n\r\n").decode()
            if f"ActionID: {action_id}" not in packet:
                continue  # an unrelated event
            replies.append(packet)
            if packet.startswith("Response:"):
                listing = "EventList: start" in packet
                if not listing:
                    return action, replies
            elif "EventList: Complete" in packet:
                return action, replies

    def close(self) -> None:
        self.sock.close()


def login(pbx: Pbx, secret: str) -> tuple[Wire, dict[str, str], list[str]]:
    wire = Wire(pbx.config.ami_port)
    action, replies = wire.exchange(
        {"Action": "Login", "Username": pbx.config.ami_user, "Secret": secret, "Events": "off"}
    )
    return wire, action, replies


def capture(pbx: Pbx) -> dict[str, object]:
    exchanges = []

    def keep(name: str, action: dict[str, str], replies: list[str]) -> None:
        if action.get("Secret"):
            action = {**action, "Secret": "<redacted>"}
        exchanges.append({"name": name, "action": action, "replies": replies})

    wire, action, replies = login(pbx, "wrong-secret-0000000000")
    keep("login_failed", action, replies)
    wire.close()
    wire = Wire(pbx.config.ami_port)
    keep("permission_denied", *wire.exchange({"Action": "Ping"}))
    wire.close()
    wire, action, replies = login(pbx, pbx.config.ami_secret)
    keep("login_ok", action, replies)
    for name, headers, record in SCRIPT:
        action, replies = wire.exchange(headers)
        if record:
            keep(name, action, replies)
    wire.close()
    version = pbx.supervisor.cli("core show version").strip()
    return {"source": version, "banner": wire.banner, "exchanges": exchanges}


def shape(packet: str) -> list[str]:
    lines = packet.split("\r\n")
    return [lines[0].split(":")[0] + ":" + lines[0].split(": ", 1)[1].split()[0]] + [
        line.split(":", 1)[0] for line in lines[1:]
    ]


def test_stored_transcripts_match_the_real_asterisk(pbx: Pbx) -> None:
    live = capture(pbx)
    if os.environ.get("SAFENUM_CAPTURE_TRANSCRIPTS") == "1":
        STORE.parent.mkdir(parents=True, exist_ok=True)
        STORE.write_text(json.dumps(live, indent=2, ensure_ascii=False) + "\n")
    stored = TranscriptBook.load(STORE)
    assert live["banner"] == stored.banner
    for item in live["exchanges"]:  # type: ignore[attr-defined]
        kept = stored[item["name"]]
        assert [shape(p) for p in item["replies"]] == [shape(p) for p in kept.replies], item["name"]
