"""Spam and advertising filter for texts sent to a safe number (pure domain code).

``MessageFilter.default().judge(text)`` returns a :class:`Verdict`; see
:mod:`blocking.filter` for the policy and ``blocking/data/README.md`` for the corpus.
"""

from blocking.filter import Message, MessageFilter
from blocking.sender import InMemorySenderHistory, SenderHistory, SenderStats
from blocking.types import Category, Decision, Verdict

__all__ = [
    "Category",
    "Decision",
    "InMemorySenderHistory",
    "Message",
    "MessageFilter",
    "SenderHistory",
    "SenderStats",
    "Verdict",
]
