"""Parking cards: the unguessable token behind the QR code, and move-car requests."""

from __future__ import annotations

import secrets

from numbering.errors import InvalidTransition, NotFound
from numbering.models import NumberStatus
from numbering.service_base import ServiceBase
from numbering.types import OwnerPhone, SafeNumber


class CardOps(ServiceBase):
    def card_token(self, number: SafeNumber, *, owner_id: str) -> str:
        """The unguessable token in the parking card's QR code; made on first use."""
        record = self._get(number, for_update=True, owner_id=owner_id)
        if record.status not in NumberStatus.live():
            raise InvalidTransition(f"a {record.status} number has no parking card")
        if record.card_token is None:
            record.card_token = secrets.token_urlsafe(18)
            self.repo.session.flush()
        return record.card_token

    def by_card_token(self, token: str) -> tuple[SafeNumber, bool]:
        """The number behind a parking card and whether it takes calls now."""
        record = self.repo.number_by_card_token(token)
        if record is None:
            raise NotFound("this parking card is no longer valid", field="token")
        return SafeNumber(record.number), record.status == NumberStatus.ACTIVE

    def move_car_request(self, token: str) -> tuple[SafeNumber, OwnerPhone]:
        """Where a move-car text from the card's page goes; audited, no personal data."""
        record = self.repo.number_by_card_token(token)
        if record is None:
            raise NotFound("this parking card is no longer valid", field="token")
        if record.status != NumberStatus.ACTIVE:
            raise InvalidTransition("the driver has paused this number")
        self.repo.audit(self.clock(), self.actor, "number.move_car_requested", record.number)
        return SafeNumber(record.number), self._route_target(record)
