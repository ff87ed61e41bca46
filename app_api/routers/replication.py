"""After a commit, tell the bridge of this process which AstDB replicas to refresh,
and wake its text relay when a text became ``pending`` (released on review).

The request edge owns the transaction: it commits first, then calls these, so a
rollback never reaches Asterisk. Without a bridge (an app built without its
lifespan) they do nothing: the bridge's reconcile on every AMI (re)connect and
every ``reconcile_interval_seconds`` rewrites the replicas from the database, and
the relay's own scan sends pending texts within ``SCAN_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Request

from app_api.bridge import Bridge
from numbering.types import SafeNumber


class AfterCommit:
    def __init__(self, bridge: Bridge | None) -> None:
        self._bridge = bridge

    def numbers(self, numbers: Sequence[SafeNumber]) -> None:
        """Preferences or blocks of these numbers changed."""
        if numbers and self._bridge is not None:
            self._bridge.numbers_changed(numbers)

    def global_blocks(self, changed: bool = True) -> None:
        if changed and self._bridge is not None:
            self._bridge.global_blocks_changed()

    def texts_pending(self) -> None:
        """A text became ``pending``: the relay sends it now, not at its next scan."""
        if self._bridge is not None:
            self._bridge.texts_pending()


def after_commit(request: Request) -> AfterCommit:
    bridge = getattr(request.app.state, "bridge", None)
    return AfterCommit(bridge if isinstance(bridge, Bridge) else None)


Replicas = Annotated[AfterCommit, Depends(after_commit)]
