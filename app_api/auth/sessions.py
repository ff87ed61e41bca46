"""Sign-in sessions: rotating, revocable refresh tokens stored as hashes.

The client holds ``<id>.<secret>``; the table keeps the id and SHA-256 of the secret.
Each refresh marks the token used and issues the next one in the same family.
Presenting a used token again means it was copied: the whole family is revoked.
This class owns its transactions, because a detected replay must commit the
revocation and still refuse the request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app_api.auth.tokens import AccessTokens, Principal, TokenPair
from app_api.errors import TokenRejected
from app_api.models import Operator, RefreshToken


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class SignInSessions:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        access: AccessTokens,
        refresh_ttl: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.access = access
        self.refresh_ttl = refresh_ttl
        self.clock = clock

    def start(self, principal: Principal) -> TokenPair:
        with self.sessions.begin() as session:
            return self._issue(session, principal, secrets.token_hex(16))

    def rotate(self, raw: str) -> TokenPair:
        replayed = False
        with self.sessions.begin() as session:
            row = self._find(session, raw)
            now = self.clock()
            if row.revoked_at is not None or row.expires_at <= now:
                raise TokenRejected("the refresh token is expired or revoked; sign in again")
            if row.used_at is not None:
                self._revoke_family(session, row.family, now)
                replayed = True
            else:
                row.used_at = now
                principal = self._principal(session, row)
                return self._issue(session, principal, row.family)
        assert replayed
        raise TokenRejected(
            "this refresh token was already used, so it may have been copied; "
            "this sign-in is revoked, sign in again"
        )

    def revoke(self, raw: str, principal: Principal) -> None:
        with self.sessions.begin() as session:
            row = self._find(session, raw)
            if self._principal(session, row) != principal:
                raise TokenRejected("this refresh token belongs to another sign-in")
            self._revoke_family(session, row.family, self.clock())

    # helpers -------------------------------------------------------------
    def _issue(self, session: Session, principal: Principal, family: str) -> TokenPair:
        token_id, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
        now = self.clock()
        session.add(
            RefreshToken(
                id=token_id,
                secret_hash=_hash(secret),
                family=family,
                owner_id=principal.subject if principal.kind == "driver" else None,
                operator_id=int(principal.subject) if principal.kind == "operator" else None,
                created_at=now,
                expires_at=now + self.refresh_ttl,
            )
        )
        session.flush()
        return TokenPair(
            access_token=self.access.issue(principal),
            refresh_token=f"{token_id}.{secret}",
            expires_in=int(self.access.ttl.total_seconds()),
        )

    def _find(self, session: Session, raw: str) -> RefreshToken:
        token_id, _, secret = raw.partition(".")
        row = None
        if token_id and secret and len(token_id) == 32:
            q = select(RefreshToken).where(RefreshToken.id == token_id).with_for_update()
            row = session.scalars(q).first()
        if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
            raise TokenRejected("the refresh token is not valid; sign in again")
        return row

    def _principal(self, session: Session, row: RefreshToken) -> Principal:
        if row.owner_id is not None:
            return Principal("driver", row.owner_id)
        operator = session.get(Operator, row.operator_id)
        if operator is None:
            raise TokenRejected("the refresh token is not valid; sign in again")
        return Principal("operator", str(operator.id), operator.role)

    def _revoke_family(self, session: Session, family: str, now: datetime) -> None:
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
