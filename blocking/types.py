"""Value types of the message filter: what a verdict says and why.

A verdict is a plain frozen value so that the CLI, the API and the SMS bridge can
serialise it the same way and tests can compare verdicts by equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Category(StrEnum):
    """What a text is. Every category except ``HAM`` is blocked when it wins."""

    HAM = "ham"
    AD = "ad"
    SPAM = "spam"
    SMISHING = "smishing"
    SCAM = "scam"


class Decision(StrEnum):
    """What happens to the text: it reaches the driver or it does not."""

    DELIVER = "deliver"
    BLOCK = "block"


CATEGORIES: tuple[Category, ...] = tuple(Category)
"""Model class order; index ``i`` of a probability vector is ``CATEGORIES[i]``."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The filter's answer for one text.

    ``score`` is the probability that the text is unwanted (1 - P(ham)), after
    rules and sender behaviour; ``category`` is the most likely class, which is
    ``ham`` whenever the text is delivered so a driver never sees a "spam" label
    on a message that reached them.
    """

    verdict: Decision
    category: Category
    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)
    model: str = ""
    """Version of the model that judged the text (empty: no model was asked)."""

    @property
    def blocked(self) -> bool:
        return self.verdict is Decision.BLOCK

    def to_json(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.value,
            "category": self.category.value,
            "score": round(self.score, 4),
            "reasons": list(self.reasons),
            "model": self.model,
        }
