"""The PBX side of safenum for one Asterisk node: ``safenum bridge`` (or inside ``serve``).

- :mod:`proxy.bridge.applier` applies the outbox to the node's AstDB, from its own
  recorded position, and reconciles the whole replica on every (re)connect;
- :mod:`proxy.bridge.calls` turns the dialplan's call events into call records and
  blocks number-sweeping callers;
- :mod:`proxy.bridge.relay` takes the texts the dialplan spooled, judges, stores and
  relays them;
- :mod:`proxy.bridge.senders` sends the service's own texts (sign-in codes, move-car
  texts) over the same AMI link;
- :mod:`proxy.bridge.node` runs them together on one AMI link.

Nothing here is imported by the domain packages; the composition root
(``app_api.main`` and ``app_api.cli_bridge``) builds it from settings.
"""

from proxy.bridge.database import Database
from proxy.bridge.node import Bridge, BridgeConfig
from proxy.bridge.relay import RelayConfig, TextRelay

__all__ = ["Bridge", "BridgeConfig", "Database", "RelayConfig", "TextRelay"]
