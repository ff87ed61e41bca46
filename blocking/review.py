"""Review of blocked texts: the use cases that span the text records, the blocklist and
the audit log, so that each HTTP handler makes one call.

Both write in the caller's transaction (services flush, the edge commits). A
release makes the text ``pending`` and records it in the outbox, so a relay sends
it once the release has committed. Both keep the text's body as a reviewed example
for ``safenum filter retrain`` (``blocking.review_examples``): spam as it is, a
released text with phone numbers, plates and addresses masked; never the sender.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from blocking.blocks import BlockService, CallerNotBlockable, GlobalBlockView
from blocking.review_examples import keep_example
from blocking.text_records import TextService
from numbering.crypto import Keyring
from numbering.repository import NumberRepository


class TextReview:
    def __init__(
        self,
        session: Session,
        keyring: Keyring,
        clock: Callable[[], datetime],
        actor: str,
    ) -> None:
        self.texts = TextService(session, keyring, clock)
        self.blocks = BlockService(session, clock, actor)
        self.repo = NumberRepository(session)
        self.clock = clock
        self.actor = actor

    def release(self, text_id: int, owner_id: str | None = None) -> None:
        """Let a blocked text through (``owner_id``: a driver, only their own), audited."""
        send = self.texts.release(text_id, self.actor, owner_id=owner_id)
        # A neighbour's message: kept for training only with personal details masked.
        keep_example(self.repo.session, "ham", send.body, self.clock())
        self.repo.audit(
            self.clock(), self.actor, "text.released", send.number.digits, {"text": text_id}
        )

    def mark_spam(self, text_id: int) -> GlobalBlockView:
        """Block the text's sender on every number (again: the same block), audited.

        A withheld sender or a driver's reply cannot be blocked
        (``caller-not-blockable``)."""
        view = self.texts.show(text_id)
        if view.direction != "in" or view.peer_key is None:
            raise CallerNotBlockable(
                "this sender cannot be blocked: the number was withheld"
                if view.direction == "in"
                else "there is no sender to block here (a driver's reply)",
                field="text_id",
            )
        keep_example(self.repo.session, "spam", view.body, self.clock())  # body only
        block = self.blocks.block_globally(
            caller_key=view.peer_key, note=f"marked as spam from text {text_id}"
        )
        self.repo.audit(
            self.clock(),
            self.actor,
            "text.marked_spam",
            view.number.digits,
            {"text": text_id, "global_block": block.id},
        )
        return block
