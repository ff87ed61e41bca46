"""Composition root: builds engines, keys and services from settings, once per process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app_api.db import make_engine, make_session_factory, purge_residue
from app_api.settings import Settings
from numbering.crypto import Keyring
from numbering.repository import NumberRepository
from numbering.service import Clock, NumberPolicy, NumberService
from numbering.views import RouteChange


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
    route_listeners: list[Callable[[list[RouteChange]], None]] = field(default_factory=list)
    _read_sessions: sessionmaker[Session] | None = field(default=None, repr=False)

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
        """One unit of work: commit on success, then tell listeners about route changes."""
        with self.sessions.begin() as session:
            service = NumberService(
                NumberRepository(session), self.keyring, self.clock, self.policy, actor=actor
            )
            yield service
        if service.shredded:
            purge_residue(self.engine, ("owners", "vehicles", "routes", "numbers", "text_records"))
        if service.route_changes:
            for listener in self.route_listeners:
                listener(list(service.route_changes))

    @contextmanager
    def reading(self, actor: str = "system") -> Iterator[NumberService]:
        """A unit of work that only reads: never queues behind writers, refuses to write."""
        if self._read_sessions is None:
            self._read_sessions = make_session_factory(self.engine, read_only=True)
        with self._read_sessions.begin() as session:
            yield NumberService(
                NumberRepository(session), self.keyring, self.clock, self.policy, actor=actor
            )

    def close(self) -> None:
        self.engine.dispose()
