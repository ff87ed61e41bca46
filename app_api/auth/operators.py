"""Operator accounts: create (CLI bootstrap or a district admin) and password sign-in."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app_api.auth.passwords import hash_password, verify_password
from app_api.auth.tokens import Principal
from app_api.errors import Unauthenticated
from app_api.models import Operator, Role
from numbering.errors import Conflict, InvalidValue
from numbering.repository import NumberRepository
from numbering.views import _View

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")


@dataclass(frozen=True, slots=True)
class OperatorView(_View):
    id: int
    username: str
    role: str
    created_at: datetime


class OperatorService:
    """The caller owns the transaction (like every service)."""

    def __init__(self, session: Session, clock: Callable[[], datetime], actor: str) -> None:
        self.session = session
        self.clock = clock
        self.actor = actor

    def create(self, username: str, password: str, role: str) -> OperatorView:
        if not _USERNAME.fullmatch(username):
            raise InvalidValue(
                "3-64 characters: lowercase letters, digits, '.', '_' or '-'", field="username"
            )
        if role not in set(Role):
            raise InvalidValue(f"role must be one of {', '.join(Role)}", field="role")
        operator = Operator(
            username=username,
            password_hash=hash_password(password),
            role=role,
            created_at=self.clock(),
        )
        try:
            with self.session.begin_nested():
                self.session.add(operator)
        except IntegrityError:
            raise Conflict(f"operator {username} exists", field="username") from None
        NumberRepository(self.session).audit(
            self.clock(), self.actor, "operator.created", f"operator:{operator.id}", {"role": role}
        )
        return _view(operator)

    def list_all(self) -> list[OperatorView]:
        return [_view(o) for o in self.session.scalars(select(Operator).order_by(Operator.id))]

    def authenticate(self, username: str, password: str) -> Principal:
        operator = self.session.scalars(
            select(Operator).where(Operator.username == username)
        ).first()
        if not verify_password(operator.password_hash if operator else None, password):
            raise Unauthenticated("wrong username or password")
        assert operator is not None
        principal = Principal("operator", str(operator.id), operator.role)
        NumberRepository(self.session).audit(
            self.clock(), principal.actor, "operator.signed_in", f"operator:{operator.id}"
        )
        return principal


def _view(operator: Operator) -> OperatorView:
    return OperatorView(operator.id, operator.username, operator.role, operator.created_at)
