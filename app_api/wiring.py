"""Composition root: builds engines, keys and services from settings, once per process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from app_api.db import make_engine, make_session_factory, purge_residue
from app_api.settings import Settings
from blocking.text_records import TextService
from calls.records import CallRecords
from numbering.crypto import Keyring
from numbering.outbox import Outbox, forget_recorded, recorded
from numbering.reports import Reports
from numbering.repository import NumberRepository
from numbering.service import Clock, NumberPolicy, NumberService
from numbering.views import TelephonyStatus


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Core:
    """What every entry point (HTTP, CLI, bridge) shares; built in ``lifespan`` or ``main``."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keyring: Keyring
    clock: Clock = utc_now
    outbox_hints: list[Callable[[], None]] = field(default_factory=list)
    """Called after a commit that wrote the outbox: wake-up calls, never the change."""
    _read_sessions: sessionmaker[Session] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        event.listen(self.sessions, "after_commit", self._after_commit)
        event.listen(self.sessions, "after_soft_rollback", self._after_rollback)

    def _after_commit(self, session: Session) -> None:
        if recorded(session):
            forget_recorded(session)
            for hint in self.outbox_hints:
                hint()

    @staticmethod
    def _after_rollback(session: Session, previous_transaction: object) -> None:
        forget_recorded(session)

    @classmethod
    def build(cls, settings: Settings, clock: Clock = utc_now) -> Core:
        engine = make_engine(settings.database_url)
        return cls(
            settings,
            engine,
            make_session_factory(engine),
            Keyring.from_file(settings.key_file),
            clock,
        )

    @property
    def policy(self) -> NumberPolicy:
        s = self.settings
        return NumberPolicy(
            max_per_owner=s.max_numbers_per_owner,
            term=timedelta(days=s.number_term_days),
            quarantine=timedelta(days=s.quarantine_days),
        )

    @contextmanager
    def numbers(self, actor: str = "system") -> Iterator[NumberService]:
        """One unit of work: commits on success (with the outbox entries it recorded)."""
        with self.sessions.begin() as session:
            service = NumberService(
                NumberRepository(session), self.keyring, self.clock, self.policy, actor=actor
            )
            yield service
        if service.shredded:
            purge_residue(self.engine, ("owners", "vehicles", "routes", "numbers", "text_records"))

    @contextmanager
    def writing(self, actor: str = "system") -> Iterator[Session]:
        """A unit of work for services other than numbering: commits on success."""
        with self.sessions.begin() as session:
            yield session

    def await_bridges(self, timeout: float) -> TelephonyStatus:
        """Wait until every registered bridge has applied the outbox as it is now.

        Polls the bridges' recorded positions (a fact in the database) until all have
        reached the outbox head read on entry, or ``timeout`` seconds have passed.
        """
        with self.reading() as svc:
            upto = Outbox(svc.repo.session).head()
        deadline = time.monotonic() + timeout
        while True:
            with self.reading() as svc:
                nodes = Outbox(svc.repo.session).nodes()
            behind = [n.name for n in nodes if n.position < upto]
            if not behind or time.monotonic() >= deadline:
                return TelephonyStatus([n.name for n in nodes], behind)
            time.sleep(0.05)

    @contextmanager
    def reading(self, actor: str = "system") -> Iterator[NumberService]:
        """A unit of work that only reads: never queues behind writers, refuses to write."""
        if self._read_sessions is None:
            self._read_sessions = make_session_factory(self.engine, read_only=True)
        with self._read_sessions.begin() as session:
            yield NumberService(
                NumberRepository(session), self.keyring, self.clock, self.policy, actor=actor
            )

    @contextmanager
    def reports(self) -> Iterator[Reports]:
        """Read-only reports, with the call and text counts of their own records."""
        with self.reading() as svc:
            session = svc.repo.session
            texts = TextService(session, self.keyring, self.clock)
            yield Reports(svc.repo, CallRecords(session).tallies, texts.tallies)

    def close(self) -> None:
        self.engine.dispose()
