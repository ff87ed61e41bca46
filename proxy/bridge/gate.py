"""A node takes calls from the edge only while its replica equals the database.

Kamailio's dispatcher probes would send calls to a restarted Asterisk as soon as it
answers OPTIONS, before its bridge has caught up from the outbox. So the edge also
asks the node's bridge: it chooses a node only while ``gate=>sip:host:port`` is set
in its tables. Every ``CHECK_SECONDS`` the bridge makes that key say whether it is
caught up (``Bridge.caught_up``: a resync completed on the current AMI connection):
set once the resync after a (re)connect is done, deleted as soon as the AMI link
drops, and set again at once on a restarted Kamailio (whose tables are empty). The probes
still take a node that stops answering out of rotation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from proxy.kamailio.rpc import EdgeRpc, EdgeRpcError, EdgeUnavailable

log = logging.getLogger("safenum.bridge.gate")

GATE_TABLE = "gate"
CHECK_SECONDS = 0.2


class NodeGate:
    def __init__(self, rpc: EdgeRpc, uri: str, caught_up: Callable[[], bool]) -> None:
        self.rpc = rpc
        self.uri = uri
        self.caught_up = caught_up
        """True while the node's bridge has resynced on its current AMI connection."""
        self.open = False
        """The key is (as far as we know) set at the edge."""
        self._failing = False

    async def watch_forever(self) -> None:
        while True:
            await self.ensure()
            await asyncio.sleep(CHECK_SECONDS)

    async def ensure(self) -> None:
        """Make the edge's key say what we know: set while caught up, absent otherwise."""
        try:
            if self.caught_up():
                if await asyncio.to_thread(self.rpc.table_get, GATE_TABLE, self.uri) is None:
                    await asyncio.to_thread(self.rpc.table_set, GATE_TABLE, self.uri, "1")
                    log.info("edge: %s takes traffic", self.uri)
                self.open = True
            elif self.open:
                await asyncio.to_thread(self.rpc.table_delete, GATE_TABLE, self.uri)
                self.open = False
                log.info("edge: %s takes no traffic until caught up", self.uri)
        except (EdgeUnavailable, EdgeRpcError) as exc:
            if not self._failing:  # once per outage, not every check
                log.warning("edge: gate of %s not updated (%s)", self.uri, exc)
            self._failing = True
        else:
            self._failing = False
