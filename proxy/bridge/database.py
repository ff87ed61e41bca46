"""What the bridge needs of the database: a protocol the composition root's ``Core`` meets."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from numbering.crypto import Keyring
from numbering.service import NumberService


class Database(Protocol):
    """Units of work over the one database (see ``app_api.wiring.Core``)."""

    sessions: sessionmaker[Session]
    keyring: Keyring

    @property
    def clock(self) -> Callable[[], datetime]: ...

    def reading(self, actor: str = "system") -> AbstractContextManager[NumberService]:
        """A read-only unit of work: never queues behind writers."""
        ...
