"""A node takes calls from the edge only while its replica equals the database.

Kamailio's dispatcher probes would send calls to a restarted Asterisk as soon as it
answers OPTIONS, before its bridge has caught up from the outbox. So the edge also
asks the node's bridge: it chooses a node only while ``gate=>sip:host:port`` is set
in its tables. The bridge sets that key once its resync after an AMI (re)connect is
done and deletes it as soon as the AMI link drops; it re-sets it every
``CHECK_SECONDS`` while caught up, so a restarted Kamailio (empty tables) gets it
back at once. The probes still take a node that stops answering out of rotation.
"""

from __future__ import annotations

import asyncio
import logging

from proxy.ami import AmiClient
from proxy.kamailio.rpc import EdgeRpc, EdgeRpcError, EdgeUnavailable

log = logging.getLogger("safenum.bridge.gate")

GATE_TABLE = "gate"
CHECK_SECONDS = 0.2


class NodeGate:
    def __init__(self, rpc: EdgeRpc, uri: str, ami: AmiClient) -> None:
        self.rpc = rpc
        self.uri = uri
        self.ami = ami
        self.caught_up = False
        """A resync completed on the current AMI connection."""
        self.open = False
        """The key is (as far as we know) set at the edge."""

    async def on_resynced(self) -> None:
        """Connect hook, added after the bridge's own: its resync has completed."""
        self.caught_up = True
        await self.ensure()

    async def watch_forever(self) -> None:
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            if not self.ami.connected:
                self.caught_up = False
            await self.ensure()

    async def ensure(self) -> None:
        """Make the edge's key say what we know: set while caught up, absent otherwise."""
        try:
            if self.caught_up and self.ami.connected:
                if await asyncio.to_thread(self.rpc.table_get, GATE_TABLE, self.uri) is None:
                    await asyncio.to_thread(self.rpc.table_set, GATE_TABLE, self.uri, "1")
                    log.info("edge: %s takes traffic", self.uri)
                self.open = True
            elif self.open:
                await asyncio.to_thread(self.rpc.table_delete, GATE_TABLE, self.uri)
                self.open = False
                log.info("edge: %s takes no traffic until caught up", self.uri)
        except (EdgeUnavailable, EdgeRpcError) as exc:
            log.warning("edge: gate of %s not updated (%s)", self.uri, exc)
