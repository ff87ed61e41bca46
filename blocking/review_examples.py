"""Texts operators reviewed, kept as labelled examples for ``safenum filter retrain``.

When an operator marks a blocked text as spam, its body is kept as a ``spam`` example;
when a text is released (by an operator or by its driver), its body is kept as a
``ham`` example, with phone numbers, number plates, addresses and e-mail addresses
masked first, since it is a neighbour's message. Only the body is kept: never the
sender, the safe number, the owner or the text's id. Retention is applied by
:func:`purge` (``SAFENUM_FILTER_SPAM_EXAMPLE_DAYS``, ``SAFENUM_FILTER_HAM_EXAMPLE_DAYS``).

Functions take the caller's session and flush, never commit: the request that marks
or releases the text owns the transaction, so the example is kept exactly when the
review is.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy import Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from blocking.corpus import REVIEW_SOURCE, Example
from blocking.types import Category
from blocking.urls import PHONE_NUMBER
from numbering.models import Base, UtcDateTime

Label = Literal["spam", "ham"]
MAX_BODY = 2000


class FilterExample(Base):
    """One reviewed text body and the label the review gave it."""

    __tablename__ = "filter_examples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    label: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


_PLATE = re.compile(r"(?<!\d)\d{2,3} ?[가-힣] ?\d{4}(?!\d)")
_ADDRESS = re.compile(
    r"[가-힣0-9]+(?:로|길|번길) ?\d+(?:-\d+)?(?:번길)?"  # road-name address
    r"|[가-힣0-9]+[동리가] ?\d+(?:-\d+)?(?:번지)?(?![가-힣])"  # lot-number address
)
_FLAT = re.compile(r"\d+ ?동 ?\d+ ?호")  # building and unit, before plates ("101동 1203")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask_personal(text: str) -> str:
    """The text with phone numbers, plates, addresses and e-mail addresses masked."""
    text = _EMAIL.sub("[이메일]", text)
    text = PHONE_NUMBER.sub("[전화번호]", text)
    text = _FLAT.sub("[주소]", text)
    text = _PLATE.sub("[차량번호]", text)
    return _ADDRESS.sub("[주소]", text)


def keep_example(session: Session, label: Label, body: str, now: datetime) -> None:
    """Keep ``body`` as a reviewed ``label`` example (masked first if it is ham)."""
    kept = (body if label == "spam" else mask_personal(body))[:MAX_BODY]
    if not kept.strip():
        return
    same = select(FilterExample.id).where(FilterExample.label == label, FilterExample.body == kept)
    if session.scalar(same.limit(1)) is None:  # marked twice: kept once
        session.add(FilterExample(label=label, body=kept, created_at=now))
        session.flush()


def examples(session: Session) -> list[Example]:
    """Every kept example, oldest first, as training examples."""
    rows = session.scalars(select(FilterExample).order_by(FilterExample.id))
    return [
        Example(
            row.body,
            Category.SPAM if row.label == "spam" else Category.HAM,
            f"review:{row.id}",
            REVIEW_SOURCE,
            "ko" if re.search("[가-힣]", row.body) else "en",
        )
        for row in rows
    ]


class Retention(Protocol):
    """The two retention settings (``app_api.settings.Settings`` has them)."""

    @property
    def filter_spam_example_days(self) -> int: ...
    @property
    def filter_ham_example_days(self) -> int: ...


def purge(session: Session, now: datetime, retention: Retention) -> int:
    """Forget spam examples older than ``filter_spam_example_days`` and ham examples
    older than ``filter_ham_example_days``."""
    spam_days, ham_days = retention.filter_spam_example_days, retention.filter_ham_example_days
    removed = 0
    for label, days in (("spam", spam_days), ("ham", ham_days)):
        result = session.execute(
            delete(FilterExample).where(
                FilterExample.label == label, FilterExample.created_at < now - timedelta(days=days)
            )
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    session.flush()
    return removed
