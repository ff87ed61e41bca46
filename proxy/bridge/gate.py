"""A node takes calls from the edge only while its replica equals the database.

Kamailio's dispatcher would send calls to a restarted Asterisk as soon as it answers
OPTIONS, before its bridge has caught up from the outbox. So the node's bridge owns
the node's dispatcher state: ``ap`` (active, probed) once a resync after an AMI
(re)connect is done, ``d`` (disabled: neither probed nor chosen) as soon as the AMI
link drops. The probes still take a node that stops answering out of rotation.
"""

from __future__ import annotations

import asyncio
import logging

from proxy.ami import AmiClient
from proxy.kamailio.rpc import EdgeRpc, EdgeRpcError, EdgeUnavailable

log = logging.getLogger("safenum.bridge.gate")

CHECK_SECONDS = 0.2


class NodeGate:
    def __init__(self, rpc: EdgeRpc, uri: str, ami: AmiClient) -> None:
        self.rpc = rpc
        self.uri = uri
        self.ami = ami
        self.open = False

    async def on_resynced(self) -> None:
        """Connect hook, added after the bridge's own: its resync has completed."""
        await self._set("ap")
        self.open = True

    async def watch_forever(self) -> None:
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            if self.open and not self.ami.connected:
                self.open = False
                await self._set("d")

    async def _set(self, state: str) -> None:
        try:
            await asyncio.to_thread(self.rpc.set_destination_state, state, self.uri)
            log.info("edge: %s is now %s", self.uri, state)
        except (EdgeUnavailable, EdgeRpcError) as exc:
            log.warning("edge: could not set %s to %s (%s)", self.uri, state, exc)
